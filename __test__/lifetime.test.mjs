// R10 (event-loop liveness) and R11 (one instance per thread, workers) in child processes.
// The only timing bound is a liveness one: a child whose connection has ended must exit on its
// own within LIVENESS_MS of its last event; everything else is bounded by generous timeouts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoServer, closedPort, delay } from './helpers/servers.mjs';
import { spawnChild, runChild, describe as describeChild, INDEX_URL } from './helpers/child.mjs';

const LIVENESS_MS = 1000;

/** Asserts the child exited by itself (code 0, no kill) within LIVENESS_MS of event `ev`. */
function assertExitedAfter(r, ev) {
  assert.equal(r.timedOut, false, `child did not exit by itself; ${describeChild(r)}`);
  assert.equal(r.signal, null, describeChild(r));
  assert.equal(r.code, 0, describeChild(r));
  const last = r.events.find((e) => e.ev === ev);
  assert.ok(last, `no '${ev}' event; ${describeChild(r)}`);
  const lag = r.exitAt - last.t;
  assert.ok(lag <= LIVENESS_MS, `exit came ${lag} ms after '${ev}' (bound ${LIVENESS_MS} ms)`);
}

describe('lifetime (R10)', () => {
  let server;
  before(async () => {
    server = await startEchoServer();
  });
  after(async () => {
    await server.close();
  });

  it('connect, echo once, close: the process exits by itself right after the close event', async () => {
    const r = await runChild(
      `
const ws = webSocket.createWebSocket();
ws.on('open', () => { emit('open'); ws.send('once'); });
ws.on('message', (err, data) => { emit('message', { data }); ws.close(); });
ws.on('close', (err, value) => emit('close', { value }));
ws.on('error', (err) => emit('error', { code: err.code }));
ws.connect(process.argv[2]);
`,
      { args: [server.url], timeout: 20_000 },
    );
    assert.deepEqual(r.events.map((e) => e.ev), ['open', 'message', 'close'], describeChild(r));
    assert.equal(r.events[1].data, 'once');
    assertExitedAfter(r, 'close');
  });

  it('a connection that is never closed keeps the process alive', async () => {
    const child = spawnChild(
      `
const ws = webSocket.createWebSocket();
ws.on('open', () => emit('open'));
ws.on('close', () => emit('close'));
ws.on('error', (err) => emit('error', { code: err.code }));
ws.connect(process.argv[2]);
`,
      { args: [server.url] },
    );
    try {
      await child.waitFor('open', 15_000);
      await delay(1500);
      assert.ok(child.running(), `child exited while its connection was open; ${describeChild(child)}`);
      assert.deepEqual(child.events.map((e) => e.ev), ['open']);
    } finally {
      child.kill();
      await child.exited;
    }
  });

  it('a CONNECTING attempt keeps the process alive until it fails; then it exits by itself', async () => {
    const port = await closedPort();
    const r = await runChild(
      `
const ws = webSocket.createWebSocket();
ws.on('error', (err) => emit('error', { code: err.code, data: err.data }));
ws.on('close', () => emit('close'));
ws.connect('ws://127.0.0.1:${port}').then((v) => emit('settled', { value: v }));
`,
      { timeout: 20_000 },
    );
    assert.deepEqual(r.events.map((e) => e.ev), ['settled', 'error'], describeChild(r));
    assert.equal(r.events[1].code, 200);
    assertExitedAfter(r, 'error');
  });

  it('a worker thread loads the addon, connects, echoes, closes and exits 0; then the main thread exits', async () => {
    const worker = `
import { parentPort, workerData } from 'node:worker_threads';
import webSocket from ${JSON.stringify(INDEX_URL)};
const ws = webSocket.createWebSocket();
ws.on('open', () => ws.send('from worker'));
ws.on('message', (err, data) => { parentPort.postMessage({ kind: 'message', data }); ws.close(); });
ws.on('close', (err, value) => parentPort.postMessage({ kind: 'close', value }));
ws.on('error', (err) => parentPort.postMessage({ kind: 'error', code: err.code }));
ws.connect(workerData.url);
`;
    const r = await runChild(
      `
import { Worker } from 'node:worker_threads';
const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { url: process.argv[2] } });
w.on('message', (m) => emit('worker-' + m.kind, m));
w.on('error', (e) => emit('worker-failed', { message: String(e && e.stack || e) }));
w.on('exit', (code) => emit('worker-exit', { code }));
`,
      { args: [server.url], files: { 'worker.mjs': worker }, timeout: 30_000 },
    );
    assert.deepEqual(r.events.map((e) => e.ev), ['worker-message', 'worker-close', 'worker-exit'], describeChild(r));
    assert.equal(r.events[0].data, 'from worker');
    assert.deepEqual(r.events[1].value, { code: 1000, reason: 'CLOSE_NORMAL' });
    assert.equal(r.events[2].code, 0);
    assertExitedAfter(r, 'worker-exit');
  });

  it('200 connect/close cycles on one object, then the process exits by itself', async () => {
    const r = await runChild(
      `
const ws = webSocket.createWebSocket();
const N = 200;
let opens = 0;
let closes = 0;
ws.on('error', (err) => emit('error', { code: err.code, data: err.data, cycle: closes }));
ws.on('open', () => { opens += 1; ws.close(); });
ws.on('close', () => {
  closes += 1;
  if (closes < N) {
    ws.connect(process.argv[2]).catch((e) => emit('rejected', { code: e.code, cycle: closes }));
  } else {
    emit('done', { opens, closes });
  }
});
ws.connect(process.argv[2]);
`,
      { args: [server.url], timeout: 90_000 },
    );
    const done = r.events.find((e) => e.ev === 'done');
    assert.ok(done, `cycles did not complete; ${describeChild(r)}`);
    assert.deepEqual({ opens: done.opens, closes: done.closes }, { opens: 200, closes: 200 });
    assert.deepEqual(r.events.map((e) => e.ev), ['done'], describeChild(r));
    assertExitedAfter(r, 'done');
  });
});
