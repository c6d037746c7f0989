// S21 in child processes: a started server keeps the process alive, and once stop()
// has resolved the process exits by itself; servers inside worker threads (each its
// own); many start/stop cycles without leaking handles or memory.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnChild, runChild, describe as describeChild } from './helpers/child.mjs';
import { wsClient, wsClosed } from './helpers/server.mjs';
import { delay } from './helpers/servers.mjs';

const LIVENESS_MS = 1000;

function assertExitedAfter(r, ev) {
  assert.equal(r.timedOut, false, `child did not exit by itself; ${describeChild(r)}`);
  assert.equal(r.code, 0, describeChild(r));
  const last = r.events.find((e) => e.ev === ev);
  assert.ok(last, `no '${ev}' event; ${describeChild(r)}`);
  assert.ok(r.exitAt - last.t <= LIVENESS_MS, `exit came ${r.exitAt - last.t} ms after '${ev}'`);
}

const SERVE = `
const server = webSocket.createWebSocketServer();
server.on('messageReceive', async ({ data, clientConnection }) => {
  if (data === 'stop') {
    emit('stopping');
    await server.stop();
    emit('stopped');
  } else {
    server.send(data, clientConnection);
  }
});
await server.start({ serverIP: '127.0.0.1', serverPort: 0, maxConcurrentClientsNumber: 10, maxConnectionsForOneClient: 10 });
emit('started', { port: server.address().port });
`;

describe('server lifetime (S21)', () => {
  it('alive while started, exits by itself after stop() resolves', async () => {
    const child = spawnChild(SERVE);
    try {
      const { port } = await child.waitFor('started');
      await delay(300);
      assert.ok(child.running(), 'a started server keeps the process alive');
      const ws = await wsClient(`ws://127.0.0.1:${port}`);
      ws.send('echo me');
      await new Promise((r) => ws.once('message', r));
      assert.ok(child.running(), 'still alive with a connection open');
      ws.send('stop');
      assert.equal((await wsClosed(ws)).code, 1001);
      const info = await child.exited;
      assertExitedAfter({ ...info, events: child.events, stderr: child.stderr, timedOut: false }, 'stopped');
    } finally {
      child.kill();
    }
  });

  it('start then stop at once: the process exits; a failed start holds nothing either', async () => {
    const r = await runChild(`
const server = webSocket.createWebSocketServer();
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
await server.stop();
const bad = webSocket.createWebSocketServer();
await bad.start({ serverIP: 'nope', serverPort: 0 }).catch((e) => emit('rejected', { code: e.code }));
emit('done');
`);
    assert.deepEqual(r.events.map((e) => e.ev), ['rejected', 'done']);
    assert.equal(r.events[0].code, 2302004);
    assertExitedAfter(r, 'done');
  });

  it('two worker threads each run their own server; a client in the main thread talks to both', async () => {
    const worker = `
import { parentPort } from 'node:worker_threads';
import webSocket from ${JSON.stringify(new URL('../index.js', import.meta.url).href)};
const server = webSocket.createWebSocketServer();
server.on('messageReceive', async ({ data, clientConnection }) => {
  await server.send('worker got ' + data, clientConnection);
  await server.close(clientConnection);
});
server.on('close', async () => { await server.stop(); parentPort.postMessage({ kind: 'stopped' }); });
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
parentPort.postMessage({ kind: 'port', port: server.address().port });
`;
    const r = await runChild(
      `
import { Worker } from 'node:worker_threads';
const ports = [];
let stopped = 0;
for (let i = 0; i < 2; i++) {
  const w = new Worker(new URL('./worker.mjs', import.meta.url));
  w.on('error', (e) => emit('worker-failed', { message: String(e && e.stack || e) }));
  w.on('exit', (code) => { if (++stopped === 2) emit('workers-exited'); });
  w.on('message', (m) => { if (m.kind === 'port') { ports.push(m.port); if (ports.length === 2) talk(); } });
}
function talk() {
  for (const port of ports) {
    const ws = webSocket.createWebSocket();
    ws.on('open', () => ws.send('hi ' + port));
    ws.on('message', (err, v) => emit('reply', { v }));
    ws.on('close', (err, v) => emit('client-close', { code: v.code }));
    ws.connect('ws://127.0.0.1:' + port);
  }
}
`,
      { files: { 'worker.mjs': worker }, timeout: 30_000 },
    );
    const replies = r.events.filter((e) => e.ev === 'reply').map((e) => e.v.replace(/\d+$/, 'N'));
    assert.deepEqual(replies, ['worker got hi N', 'worker got hi N'], describeChild(r));
    assert.deepEqual(r.events.filter((e) => e.ev === 'client-close').map((e) => e.code), [1000, 1000]);
    assertExitedAfter(r, 'workers-exited');
  });

  it('300 start / connect / stop cycles: handles and memory stay bounded, then the process exits', async () => {
    const r = await runChild(
      `
const server = webSocket.createWebSocketServer();
server.on('messageReceive', ({ data, clientConnection }) => server.send(data, clientConnection));
const rss = [];
for (let i = 0; i < 300; i++) {
  await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
  const port = server.address().port;
  await new Promise((resolve) => {
    const ws = webSocket.createWebSocket();
    ws.on('open', () => ws.send('x'.repeat(1024)));
    ws.on('message', () => ws.close());
    ws.on('close', resolve);
    ws.on('error', (e) => { emit('error', { i, detail: e.detail }); resolve(); });
    ws.connect('ws://127.0.0.1:' + port);
  });
  await server.stop();
  if (i === 49 || i === 299) { globalThis.gc?.(); rss.push(process.memoryUsage().rss); }
}
emit('done', { rss, handles: process.getActiveResourcesInfo().filter((x) => x !== 'TTYWrap') });
`,
      { timeout: 90_000 },
    );
    const done = r.events.find((e) => e.ev === 'done');
    assert.ok(done, describeChild(r));
    assert.deepEqual(done.handles, [], 'nothing left holding the loop');
    // Generous: 250 cycles after warm-up may not add more than 20 MiB.
    const grown = (done.rss[1] - done.rss[0]) / 1024 / 1024;
    assert.ok(grown < 20, `RSS grew ${grown.toFixed(1)} MiB over 250 cycles`);
    assertExitedAfter(r, 'done');
  });
});
