// The `ohos-ws` command, driven as a child process against real peers on 127.0.0.1:
// usage errors; `connect` interactively (stdin lines, /close, end of input, --binary, --ping),
// with `-x`, with headers/subprotocol, through a proxy, over TLS (verification, --ca,
// --no-check, a client certificate with --passphrase) and its failures (exit status 1 with the
// BusinessError JSON and its detail); `listen` against the server API of spec section (e).
// Status lines are on stderr, messages on stdout.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { start, run, transcript } from './helpers/process.mjs';
import { startEchoServer, startTlsEchoServer, closedPort, waitUntil, HOST } from './helpers/servers.mjs';
import { startProxy } from './helpers/proxy.mjs';
import { makeTestPki, pem } from './helpers/certs.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'ohos-ws.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));

const cli = (args, input) => run(process.execPath, [BIN, ...args], { cwd: ROOT, env, input });
const startCli = (args) => start(process.execPath, [BIN, ...args], { cwd: ROOT, env });
/** The error line of an `error` event without an HTTP status (R64). */
const ERROR_EVENT_LINE = /^error: \{"code":200,"message":"Websocket connect failed","data":"0"\}$/m;

/** An echo server closed after the test. */
async function echo(t, opts) {
  const server = await startEchoServer(opts);
  t.after(() => server.close());
  return server;
}

/** Starts `ohos-ws connect …` and resolves once it reports the open connection. */
async function startConnected(t, args) {
  const p = startCli(['connect', ...args]);
  t.after(() => p.kill('SIGKILL'));
  await p.waitFor('stderr', /^connected \(/m);
  return p;
}

const texts = (server) => server.received.map((m) => (m.isBinary ? { binary: m.data.toString() } : m.data.toString()));

// ---------------------------------------------------------------------------------------------------------
describe('command line', () => {
  test('--help prints the usage and exits 0', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0, transcript(r));
    assert.match(r.stdout, /^Usage:\n {2}ohos-ws connect <url>/);
    assert.match(r.stdout, /ohos-ws listen <port>/);
  });

  for (const [args, message] of [
    [[], /no command given/],
    [['dial', 'ws://x'], /unknown command "dial"/],
    [['connect'], /connect needs a URL/],
    [['connect', 'ws://x', '--bogus'], /Unknown option '--bogus'/],
    [['connect', 'ws://x', '-H', 'no-colon'], /-H expects "name: value"/],
    [['connect', 'ws://x', '--cert', 'c.pem'], /--cert and --key go together/],
    [['connect', 'ws://x', '--proxy', 'nohost'], /--proxy expects host:port/],
    [['connect', 'ws://x', '--ping', '1.5'], /--ping must be a whole number/],
    [['connect', 'ws://x', '--echo'], /--echo is not an option of connect/],
    [['listen', '70000'], /the port must be a whole number from 0 to 65535/],
  ]) {
    test(`usage error, exit 2: ohos-ws ${args.join(' ')}`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, transcript(r));
      assert.match(r.stderr, message);
      assert.match(r.stderr, /ohos-ws --help/);
      assert.equal(r.stdout, '');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
describe('connect', () => {
  test('-x sends one message, prints the reply alone on stdout, closes cleanly, exits 0', async (t) => {
    const server = await echo(t);
    const r = await cli(['connect', server.url, '-x', 'ping', '-H', 'X-Trace: a:b', '-H', 'authorization: Bearer t', '-s', 'chat']);
    assert.equal(r.code, 0, transcript(r));
    assert.equal(r.stdout, 'ping\n');
    assert.match(r.stderr, /^connected \(101 Switching Protocols, subprotocol chat\)$/m); // R58
    assert.match(r.stderr, /^closed 1000 CLOSE_NORMAL$/m); // R48, R49
    const { headers } = server.requests[0];
    assert.equal(headers['x-trace'], 'a:b'); // the value keeps its own colons
    assert.equal(headers.authorization, 'Bearer t');
    assert.equal(headers['sec-websocket-protocol'], 'chat'); // R33
    assert.deepEqual(texts(server), ['ping']);
    assert.deepEqual(await server.waitForCloses(1), { code: 1000, reason: 'CLOSE_NORMAL' });
  });

  test('interactive: lines become messages, replies are printed, /close CODE REASON closes with them', async (t) => {
    const server = await echo(t);
    const p = await startConnected(t, [server.url]);
    assert.match(p.stderr, /^connected \(101 Switching Protocols\)$/m); // R57
    p.write('hello\n');
    await p.waitFor('stdout', '< hello\n');
    p.write('second line with spaces\n');
    await p.waitFor('stdout', '< second line with spaces\n');
    p.write('/close 4000 bye now\n');
    const r = await p.exited;
    assert.equal(r.code, 0, transcript(p));
    assert.match(r.stderr, /^closed 4000 bye now$/m); // R47: application codes are forwarded
    assert.deepEqual(texts(server), ['hello', 'second line with spaces']);
    assert.deepEqual(await server.waitForCloses(1), { code: 4000, reason: 'bye now' });
  });

  test('interactive: end of input (Ctrl-D) closes with 1000 CLOSE_NORMAL after the queued lines, exit 0', async (t) => {
    const server = await echo(t);
    const p = await startConnected(t, [server.url]);
    p.write('a\nb\n');
    p.end();
    const r = await p.exited;
    assert.equal(r.code, 0, transcript(p));
    assert.deepEqual(texts(server), ['a', 'b']); // R49: queued frames leave before the close frame
    assert.deepEqual(await server.waitForCloses(1), { code: 1000, reason: 'CLOSE_NORMAL' });
  });

  test('--binary sends lines as binary frames and shows messages as hex', async (t) => {
    const server = await echo(t);
    const p = await startConnected(t, [server.url, '--binary']);
    p.write('hi\n');
    await p.waitFor('stdout', '< 6869\n');
    p.end();
    assert.equal((await p.exited).code, 0, transcript(p));
    assert.deepEqual(texts(server), [{ binary: 'hi' }]);
  });

  test('a binary message is shown as hex even without --binary', async (t) => {
    const server = await echo(t, { onConnection: (sock) => sock.on('message', () => sock.send(Buffer.from([0, 1, 254, 255]))) });
    const r = await cli(['connect', server.url, '-x', 'give me bytes']);
    assert.equal(r.code, 0, transcript(r));
    assert.equal(r.stdout, '0001feff\n');
  });

  test('--ping sets the heartbeat interval: the server sees Pings (R35, R65)', async (t) => {
    let pings = 0;
    const server = await echo(t, { onConnection: (sock) => sock.on('ping', () => (pings += 1)) });
    const p = await startConnected(t, [server.url, '--ping', '1']);
    await waitUntil(() => pings >= 1, { timeout: 10_000, label: 'a heartbeat Ping' });
    p.end();
    assert.equal((await p.exited).code, 0, transcript(p));
  });

  test('--proxy host:port tunnels through an HTTP CONNECT proxy (R32)', async (t) => {
    const server = await echo(t);
    const proxy = await startProxy();
    t.after(() => proxy.close());
    const r = await cli(['connect', server.url, '--proxy', `${HOST}:${proxy.port}`, '-x', 'via proxy']);
    assert.equal(r.code, 0, transcript(r));
    assert.equal(r.stdout, 'via proxy\n');
    assert.equal(proxy.connects.length, 1);
    assert.equal(proxy.connects[0].authority, `${HOST}:${server.port}`);
  });

  test('a refused connection: the error event JSON and its detail on stderr, exit 1 (R21, R64)', async () => {
    const r = await cli(['connect', `ws://${HOST}:${await closedPort()}`]);
    assert.equal(r.code, 1, transcript(r));
    assert.match(r.stderr, ERROR_EVENT_LINE);
    assert.match(r.stderr, /^detail: .*refused/im);
    assert.equal(r.stdout, '');
  });

  test('a rejected connect call: its BusinessError JSON, exit 1 (R17, R16)', async () => {
    for (const [args, json] of [
      [['connect', 'http://127.0.0.1/'], '{"code":2302001,"message":"Websocket url error"}'],
      [['connect', 'wss://127.0.0.1/', '--ca', '/nonexistent/ca.pem'], '{"code":2302002,"message":"Websocket certificate file does not exist"}'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 1, transcript(r));
      assert.equal(r.stderr, `error: ${json}\n`);
    }
  });

  test('-x exits 1 when the server closes before replying', async (t) => {
    const server = await echo(t, { onConnection: (sock) => sock.on('message', () => sock.close(1001, 'not today')) });
    const r = await cli(['connect', server.url, '-x', 'hello?']);
    assert.equal(r.code, 1, transcript(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^closed 1001 not today$/m);
    assert.match(r.stderr, /closed before a reply/);
  });

  test('an abnormal end of an open connection: error, close 1006, exit 1 (R61, R62)', async (t) => {
    const server = await echo(t, { onConnection: (sock) => sock.on('message', () => sock.terminate()) });
    const p = await startConnected(t, [server.url]);
    p.write('cut me off\n');
    const r = await p.exited;
    assert.equal(r.code, 1, transcript(p));
    assert.match(r.stderr, ERROR_EVENT_LINE);
    assert.match(r.stderr, /^closed 1006 The link is down$/m);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('connect over TLS', () => {
  let pki;
  let server;
  before(async () => {
    pki = makeTestPki();
    server = await startTlsEchoServer({ ...pem(pki.local), ca: pem(pki.ca).cert, requestCert: true, rejectUnauthorized: false });
  });
  after(async () => {
    await server?.close();
    pki?.cleanup();
  });

  test('the server certificate is verified: an unknown issuer fails with the detail, exit 1 (R70)', async () => {
    const r = await cli(['connect', server.url, '-x', 'hi']);
    assert.equal(r.code, 1, transcript(r));
    assert.match(r.stderr, ERROR_EVENT_LINE);
    assert.match(r.stderr, /^detail: .*(certificate|UnknownIssuer)/im);
  });

  test('--ca makes the test CA the trust anchor (R27)', async () => {
    const r = await cli(['connect', server.url, '--ca', pki.ca.cert, '-x', 'over tls']);
    assert.equal(r.code, 0, transcript(r));
    assert.equal(r.stdout, 'over tls\n');
  });

  test('--no-check accepts any certificate (R29)', async () => {
    const r = await cli(['connect', server.url, '--no-check', '-x', 'unchecked']);
    assert.equal(r.code, 0, transcript(r));
    assert.equal(r.stdout, 'unchecked\n');
  });

  test('--cert / --key / --passphrase present an encrypted client key (R28)', async () => {
    const before = server.requests.length;
    const r = await cli([
      'connect', server.url, '--ca', pki.ca.cert, '--cert', pki.client.cert, '--key', pki.client.encryptedKey,
      '--passphrase', pki.client.password, '-x', 'mutual',
    ]);
    assert.equal(r.code, 0, transcript(r));
    assert.equal(r.stdout, 'mutual\n');
    const request = server.requests[before];
    assert.equal(request.authorized, true);
    assert.equal(request.peerCertificate.subject.CN, 'client');
  });
});

// ---------------------------------------------------------------------------------------------------------
/** Starts `ohos-ws listen 0 …` and resolves `{p, port}` once it prints its address. */
async function startListen(t, args) {
  const p = startCli(['listen', '0', '--host', HOST, ...args]);
  t.after(() => p.kill('SIGKILL'));
  const [, port] = await p.waitFor('stderr', /listening on wss?:\/\/127\.0\.0\.1:(\d+)\n/);
  return { p, port: Number(port) };
}

/** A `ws` client that records its messages; resolves once open. */
async function wsClient(url, options) {
  const client = new WebSocket(url, options);
  client.got = [];
  client.on('message', (data, isBinary) => client.got.push(isBinary ? { binary: data.toString('hex') } : data.toString()));
  await new Promise((resolve, reject) => (client.once('open', resolve), client.once('error', reject)));
  return client;
}

describe('listen', () => {
  test('--echo answers each message; connections, messages and closes are printed; SIGTERM stops (S6, S11, S12, S18)', async (t) => {
    const { p, port } = await startListen(t, ['--echo']);
    const client = await wsClient(`ws://${HOST}:${port}`);
    await p.waitFor('stderr', /^\+ 127\.0\.0\.1:\d+$/m);
    client.send('hi');
    await waitUntil(() => client.got.length === 1, { label: 'the echo' });
    assert.deepEqual(client.got, ['hi']);
    await p.waitFor('stdout', /^127\.0\.0\.1:\d+ < hi$/m);
    client.close(1000, 'done');
    await p.waitFor('stderr', /^- 127\.0\.0\.1:\d+ 1000 done$/m);
    p.kill('SIGTERM');
    const r = await p.exited;
    assert.equal(r.code, 0, transcript(p));
    assert.match(r.stderr, /^stopped$/m);
  });

  test('input lines go to every client; stop closes them with 1001 (S6)', async (t) => {
    const { p, port } = await startListen(t, []);
    const a = await wsClient(`ws://${HOST}:${port}`);
    const b = await wsClient(`ws://${HOST}:${port}`);
    await waitUntil(() => (p.stderr.match(/^\+ /gm) || []).length === 2, { label: 'two connect lines' });
    p.write('to everyone\n');
    await waitUntil(() => a.got.length === 1 && b.got.length === 1, { label: 'the broadcast' });
    assert.deepEqual([a.got, b.got], [['to everyone'], ['to everyone']]);
    const closed = new Promise((resolve) => a.once('close', (code, reason) => resolve({ code, reason: `${reason}` })));
    p.kill('SIGTERM');
    assert.deepEqual(await closed, { code: 1001, reason: 'server is going away' });
    assert.equal((await p.exited).code, 0, transcript(p));
  });

  test('--cert / --key serve wss:// (S4)', async (t) => {
    const pki = makeTestPki();
    t.after(() => pki.cleanup());
    const { p, port } = await startListen(t, ['--cert', pki.local.cert, '--key', pki.local.key, '--echo', '--binary']);
    assert.match(p.stderr, /listening on wss:/);
    const client = await wsClient(`wss://${HOST}:${port}`, { ca: pem(pki.ca).cert });
    client.send(Buffer.from('bin'));
    await waitUntil(() => client.got.length === 1, { label: 'the echo' });
    assert.deepEqual(client.got, [{ binary: Buffer.from('bin').toString('hex') }]);
    await p.waitFor('stdout', / < 62696e$/m);
    client.close();
    p.kill('SIGTERM');
    assert.equal((await p.exited).code, 0, transcript(p));
  });
});
