// OHOS_WS_DEBUG=1 (issue #9): connection lifecycle lines on stderr — addresses, proxy,
// TLS version and cipher, handshake status, close codes, error reasons — for both
// roles; and nothing at all without it. Child processes, since the variable is read
// when the I/O runtime starts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runChild, describe as describeChild } from './helpers/child.mjs';
import { startEchoServers, closedPort } from './helpers/servers.mjs';
import { startProxy } from './helpers/proxy.mjs';

const SCRIPT = `
const [url, caPath, proxyPort] = process.argv.slice(2);
const ws = webSocket.createWebSocket();
ws.on('open', () => ws.send('hi'));
ws.on('message', () => ws.close({ code: 4001, reason: 'bye' }));
ws.on('close', (e, v) => emit('close', v));
ws.on('error', (e) => emit('error', { detail: e.detail }));
const options = {};
if (caPath) options.caPath = caPath;
if (proxyPort) options.proxy = { host: '127.0.0.1', port: Number(proxyPort), exclusionList: [] };
await ws.connect(url, options);
`;

describe('OHOS_WS_DEBUG', () => {
  let servers;
  let plain;
  let tls;
  let pki;
  before(async () => {
    servers = await startEchoServers();
    ({ plain, tls, pki } = servers);
  });
  after(() => servers.close());

  it('off: nothing on stderr', async () => {
    const r = await runChild(SCRIPT, { args: [plain.url], env: { OHOS_WS_DEBUG: undefined } });
    assert.equal(r.code, 0, describeChild(r));
    assert.equal(r.stderr, '');
  });

  it('client: resolution, attempt, handshake status, close codes', async () => {
    const url = plain.url.replace('127.0.0.1', 'localhost');
    const r = await runChild(SCRIPT, { args: [url], env: { OHOS_WS_DEBUG: '1' } });
    assert.equal(r.code, 0, describeChild(r));
    const port = new URL(url).port;
    assert.match(r.stderr, new RegExp(`^ohos-ws: localhost:${port} resolves to \\[.*127\\.0\\.0\\.1:${port}.*\\]$`, 'm'));
    assert.match(r.stderr, /^ohos-ws: connecting to .*:\d+$/m);
    assert.match(r.stderr, new RegExp(`^ohos-ws: ws://localhost:${port}: handshake answered 101 Switching Protocols$`, 'm'));
    assert.match(r.stderr, /: sending close 4001 "bye"$/m);
    assert.match(r.stderr, /: close received Some\(\(4001, "bye"\)\)$/m);
    assert.match(r.stderr, /: close event 4001 "bye"$/m);
  });

  it('client: TLS version and cipher, proxy use', async () => {
    const proxy = await startProxy();
    try {
      const r = await runChild(SCRIPT, { args: [tls.url, pki.ca.cert, String(proxy.port)], env: { OHOS_WS_DEBUG: 'true' } });
      assert.equal(r.code, 0, describeChild(r));
      assert.match(r.stderr, /: through the proxy 127\.0\.0\.1:\d+$/m);
      assert.match(r.stderr, /: TLS TLSv1_[23] TLS\d*_[A-Z0-9_]+$/m);
    } finally {
      await proxy.close();
    }
  });

  it('client: the reason of an error event', async () => {
    const port = await closedPort();
    const r = await runChild(SCRIPT, { args: [`ws://127.0.0.1:${port}`], env: { OHOS_WS_DEBUG: '1' } });
    assert.match(r.stderr, /: error event: Websocket connect failed: 127\.0\.0\.1:\d+: .*refused/im);
  });

  it('server: listening, handshake answers, close codes, refusals, stop', async () => {
    const r = await runChild(
      `
const server = webSocket.createWebSocketServer();
server.on('messageReceive', ({ clientConnection }) => server.close(clientConnection, { code: 4002, reason: 'done' }));
server.on('close', async () => { await server.stop(); emit('stopped'); });
await server.start({ serverIP: '127.0.0.1', serverPort: 0, maxConcurrentClientsNumber: 1, maxConnectionsForOneClient: 1 });
const ws = webSocket.createWebSocket();
ws.on('open', () => ws.send('x'));
await ws.connect('ws://127.0.0.1:' + server.address().port);
`,
      { env: { OHOS_WS_DEBUG: '1' } },
    );
    assert.equal(r.code, 0, describeChild(r));
    assert.match(r.stderr, /^ohos-ws: server listening on 127\.0\.0\.1:\d+$/m);
    assert.match(r.stderr, /^ohos-ws: 127\.0\.0\.1:\d+: answered 101, protocol None$/m);
    assert.match(r.stderr, /^ohos-ws: client 127\.0\.0\.1:\d+: sending close 4002 "done"$/m);
    assert.match(r.stderr, /^ohos-ws: client 127\.0\.0\.1:\d+: close event 4002 "done"$/m);
    assert.match(r.stderr, /^ohos-ws: server on 127\.0\.0\.1:\d+: stopping$/m);
  });
});
