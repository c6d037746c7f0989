// Reading on the JS thread (issue #10, item 2; src/runtime/js_thread): once open, a
// connection is polled by its own thread's libuv loop. These tests pin what that must not
// change: the same results as the I/O-thread home (OHOS_WS_POLL=io), both roles, TLS
// included; worker threads that end while their connections are open and busy (libuv
// refuses to close a loop with handles left); and the choice being visible in
// OHOS_WS_DEBUG. Everything runs in child processes against real peers on 127.0.0.1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoServers } from './helpers/servers.mjs';
import { runChild, describe as describeChild, INDEX_URL } from './helpers/child.mjs';

/**
 * A client that sends a mix (small text and binary, a 100 KiB text, a 300 KiB binary,
 * bursts) and reports what came back, then our server with our client doing the same.
 */
const MIX = `
const sizes = [1, 10, 1000, 100 * 1024, 300 * 1024, 5, 70 * 1024];
function payload(i) {
  const n = sizes[i % sizes.length];
  if (i % 2) return 'T'.repeat(n) + i;
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (k + i) & 255;
  return b.buffer;
}
function digest(v) {
  if (typeof v === 'string') return 's' + v.length + ':' + v.slice(-4);
  const b = new Uint8Array(v);
  let h = 0;
  for (let k = 0; k < b.length; k++) h = (h * 31 + b[k]) >>> 0;
  return 'b' + b.length + ':' + h;
}
function run(url, options, label) {
  return new Promise((resolve) => {
    const ws = webSocket.createWebSocket();
    const got = [];
    const N = 60;
    ws.on('open', () => { for (let i = 0; i < N; i++) ws.send(payload(i)); });
    ws.on('message', (err, data) => { got.push(digest(data)); if (got.length === N) ws.close({ code: 4000, reason: label }); });
    ws.on('close', (err, v) => resolve({ got, close: v }));
    ws.on('error', (err) => emit('error', { label, code: err.code, data: err.data }));
    ws.connect(url, options);
  });
}
const expected = Array.from({ length: 60 }, (_, i) => digest(payload(i)));
const a = await run(process.argv[2], process.argv[3] ? { caPath: process.argv[3] } : {}, 'peer');
emit('peer', { ok: JSON.stringify(a.got) === JSON.stringify(expected), close: a.close });
const server = webSocket.createWebSocketServer();
server.on('messageReceive', (m) => server.send(m.data, m.clientConnection));
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
const b = await run('ws://127.0.0.1:' + server.address().port, {}, 'own');
emit('own', { ok: JSON.stringify(b.got) === JSON.stringify(expected), close: b.close });
await server.stop();
`;

describe('reading on the JS thread (issue #10 item 2)', () => {
  let servers;
  let plain;
  let tls;
  let pki;
  before(async () => {
    servers = await startEchoServers();
    ({ plain, tls, pki } = servers);
  });
  after(() => servers.close());

  // Unset: the client on the JS thread and the server on the I/O thread (the defaults);
  // `js` and `io` put both roles in one home.
  for (const mode of [undefined, 'js', 'io']) {
    for (const secure of [false, true]) {
      const name = `OHOS_WS_POLL=${mode ?? '(unset)'}, ${secure ? 'wss' : 'ws'}: a mixed echo gives every message back in order, both roles`;
      it(name, async () => {
        const args = secure ? [tls.url, pki.ca.cert] : [plain.url];
        const r = await runChild(MIX, { args, env: { OHOS_WS_POLL: mode }, timeout: 60_000 });
        assert.equal(r.code, 0, describeChild(r));
        const byEv = Object.fromEntries(r.events.map((e) => [e.ev, e]));
        assert.equal(byEv.error, undefined, describeChild(r));
        assert.equal(byEv.peer?.ok, true, describeChild(r));
        assert.deepEqual(byEv.peer.close, { code: 4000, reason: 'peer' });
        assert.equal(byEv.own?.ok, true, describeChild(r));
        assert.deepEqual(byEv.own.close, { code: 4000, reason: 'own' });
      });
    }
  }

  it('OHOS_WS_DEBUG says where an open connection is read: by default a client on the JS thread, a server on the I/O thread', async () => {
    const script = `
const server = webSocket.createWebSocketServer();
server.on('connect', (c) => server.close(c));
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
const ws = webSocket.createWebSocket();
ws.on('close', () => { emit('close'); server.stop(); });
ws.connect('ws://127.0.0.1:' + server.address().port);
`;
    const lines = async (mode) => {
      const r = await runChild(script, { env: { OHOS_WS_DEBUG: '1', OHOS_WS_POLL: mode } });
      assert.equal(r.code, 0, describeChild(r));
      const client = /^ohos-ws: ws:\/\/127\.0\.0\.1:\d+: open; read on the (JS|I\/O) thread$/m.exec(r.stderr);
      const server = /^ohos-ws: client 127\.0\.0\.1:\d+: open; read on the (JS|I\/O) thread$/m.exec(r.stderr);
      assert.ok(client && server, describeChild(r));
      return [client[1], server[1]];
    };
    assert.deepEqual(await lines(undefined), ['JS', 'I/O']);
    assert.deepEqual(await lines('js'), ['JS', 'JS']);
    assert.deepEqual(await lines('io'), ['I/O', 'I/O']);
  });

  for (const how of ['terminate()', 'process.exit() inside']) {
    it(`a worker whose client and server connections are open and busy ends by ${how}; the process exits 0`, async () => {
      const worker = `
import { parentPort, workerData } from 'node:worker_threads';
import webSocket from ${JSON.stringify(INDEX_URL)};
const server = webSocket.createWebSocketServer();
server.on('messageReceive', (m) => server.send(m.data, m.clientConnection));
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
let echoes = 0;
for (const url of [workerData.url, 'ws://127.0.0.1:' + server.address().port]) {
  const ws = webSocket.createWebSocket();
  ws.on('open', () => ws.send('x'.repeat(1000)));
  ws.on('message', (err, data) => {
    ws.send(data);
    echoes += 1;
    if (echoes === 2000) {
      if (workerData.exit) process.exit(0);
      parentPort.postMessage('busy');
    }
  });
  ws.connect(url);
}
`;
      const r = await runChild(
        `
import { Worker } from 'node:worker_threads';
const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { url: process.argv[2], exit: ${how !== 'terminate()'} } });
w.on('message', () => { emit('busy'); w.terminate(); });
w.on('error', (e) => emit('worker-failed', { message: String(e && e.stack || e) }));
w.on('exit', (code) => emit('worker-exit', { code }));
`,
        // Both roles on the worker's JS thread, so its end must close their libuv handles.
        { args: [plain.url], files: { 'worker.mjs': worker }, env: { OHOS_WS_POLL: 'js' }, timeout: 60_000 },
      );
      assert.equal(r.signal, null, describeChild(r));
      assert.equal(r.code, 0, describeChild(r));
      const evs = r.events.map((e) => e.ev);
      assert.ok(evs.includes('worker-exit'), describeChild(r));
      assert.ok(!evs.includes('worker-failed'), describeChild(r));
    });
  }
});
