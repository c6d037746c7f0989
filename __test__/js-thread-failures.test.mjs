// The libuv side of reading on the JS thread fails loudly, never silently (issue #17 item 3;
// src/runtime/js_thread): a connection whose socket libuv refuses to watch, or whose batches
// it refuses to schedule, ends with `error` then `close` (1006) instead of hanging without an
// event; and a worker whose connections are read on its own thread ends promptly by
// terminate(). The refusals come from the test fault OHOS_WS_TEST_FAULT
// (src/runtime/js_thread/uv.rs): libuv has no other way to refuse these calls on a healthy
// socket and loop. Everything runs in child processes against a real peer on 127.0.0.1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoServer } from './helpers/servers.mjs';
import { runChild, describe as describeChild, INDEX_URL } from './helpers/child.mjs';

/** How long `worker.terminate()` may take: the handles close in one loop turn. */
const TERMINATE_BOUND_MS = 5000;

/**
 * A client that says what happens to it, and once open sends a message for each echo, up to
 * 50: an echo read inside JS's own call (the send's flush) is announced through the
 * threadsafe function, so only an echo read from libuv's poll callback needs the check.
 */
const CLIENT = `
const ws = webSocket.createWebSocket();
let echoes = 0;
ws.on('open', () => { emit('open'); ws.send('ping'); });
ws.on('message', (err, data) => { emit('message', { data }); if (++echoes < 50) ws.send('ping'); });
ws.on('error', (err) => emit('error', { code: err.code, detail: err.detail }));
ws.on('close', (err, value) => emit('close', { value }));
ws.connect(process.argv[2]);
`;

describe('the libuv integration fails loudly (issue #17 item 3)', () => {
  let server;
  before(async () => {
    server = await startEchoServer();
  });
  after(async () => {
    await server.close();
  });

  for (const [call, minEchoes, maxEchoes] of [
    // Refused when the connection first waits for its socket: nothing is read after the
    // first drive (which may find the first echo there already).
    ['uv_poll_start', 0, 1],
    // Refused when an echo's batch is first owed to JS: it comes with the terminal events.
    ['uv_check_start', 1, 49],
  ]) {
    it(`a refused ${call} ends the connection with error then close 1006, and the process exits by itself`, async () => {
      const r = await runChild(CLIENT, {
        args: [server.url],
        env: { OHOS_WS_POLL: 'js', OHOS_WS_TEST_FAULT: call },
        timeout: 20_000,
      });
      assert.equal(r.timedOut, false, `the connection hung; ${describeChild(r)}`);
      assert.equal(r.code, 0, describeChild(r));
      const evs = r.events.map((e) => e.ev);
      const echoes = evs.filter((ev) => ev === 'message').length;
      assert.deepEqual(evs, ['open', ...Array(echoes).fill('message'), 'error', 'close'], describeChild(r));
      assert.ok(echoes >= minEchoes && echoes <= maxEchoes, describeChild(r));
      const error = r.events.find((e) => e.ev === 'error');
      assert.equal(error.code, 200);
      assert.match(error.detail, new RegExp(call), describeChild(r));
      assert.equal(r.events.at(-1).value.code, 1006);
    });
  }

  for (const ended of [false, true]) {
    it(`a worker whose JS-thread connections ${ended ? 'have ended' : 'are open'} ends by terminate() within ${TERMINATE_BOUND_MS} ms`, async () => {
      // Both roles on the worker's thread: a client to the echo server, and the worker's own
      // server with a client of its own.
      const worker = `
import { parentPort, workerData } from 'node:worker_threads';
import webSocket from ${JSON.stringify(INDEX_URL)};
const server = webSocket.createWebSocketServer();
server.on('messageReceive', (m) => server.send(m.data, m.clientConnection));
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
let pending = 2;
for (const url of [workerData.url, 'ws://127.0.0.1:' + server.address().port]) {
  const ws = webSocket.createWebSocket();
  ws.on('open', () => ws.send('x'));
  ws.on('message', () => {
    if (workerData.ended) ws.close();
    else if (--pending === 0) parentPort.postMessage('ready');
  });
  ws.on('close', () => { if (--pending === 0) parentPort.postMessage('ready'); });
  ws.connect(url);
}
`;
      const r = await runChild(
        `
import { Worker } from 'node:worker_threads';
const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { url: process.argv[2], ended: ${ended} } });
w.on('error', (e) => emit('worker-failed', { message: String(e && e.stack || e) }));
w.once('message', async () => {
  emit('ready');
  const t0 = Date.now();
  await w.terminate();
  emit('terminated', { ms: Date.now() - t0 });
});
`,
        { args: [server.url], files: { 'worker.mjs': worker }, env: { OHOS_WS_POLL: 'js' }, timeout: 30_000 },
      );
      assert.equal(r.timedOut, false, `terminate() never resolved; ${describeChild(r)}`);
      assert.equal(r.signal, null, describeChild(r));
      assert.equal(r.code, 0, describeChild(r));
      assert.deepEqual(r.events.map((e) => e.ev), ['ready', 'terminated'], describeChild(r));
      const { ms } = r.events[1];
      assert.ok(ms < TERMINATE_BOUND_MS, `terminate() took ${ms} ms`);
    });
  }
});
