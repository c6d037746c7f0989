// Faults survived, measured (issue #17 item 5; shared.mjs): nothing left behind. A 200-cycle
// run in a child process checks that handles and memory come back and that the process exits
// by itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runChild, describe as describeChild } from '../helpers/child.mjs';
import { row } from './shared.mjs';

/** A child whose last connection has ended must exit within this (R10, S21). */
const LIVENESS_MS = 1000;
const FAULT_PROXY_URL = new URL('../helpers/fault-proxy.mjs', import.meta.url).href;
const SERVERS_URL = new URL('../helpers/servers.mjs', import.meta.url).href;

describe('faults survived, measured (issue #17 item 5)', () => {
  describe('the other faults, one at a time', { concurrency: 1 }, () => {
    describe('nothing left behind', () => {
      it('200 cycles of connect through the proxy, 3 echoes, RST mid-frame: handles and RSS back, the process exits by itself', async (t) => {
        const CYCLES = 200;
        // --expose-gc: RSS is sampled after a full collection.
        const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() };
        const r = await runChild(LEAK_CHILD, { args: [String(CYCLES)], env, timeout: 90_000 });
        const done = r.events.find((e) => e.ev === 'done');
        assert.ok(done, `the cycles did not complete; ${describeChild(r)}`);
        assert.deepEqual(r.events.filter((e) => e.ev !== 'start' && e.ev !== 'done'), [], describeChild(r));
        assert.deepEqual(done.tally, {
          cycles: CYCLES,
          echoesInOrder: CYCLES,
          clientErrorThenClose1006: CYCLES,
          serverErrorThenClose1006: CYCLES,
          serverGotExactlyTheEchoed: CYCLES,
        });
        assert.deepEqual(done.resources, done.baseline, `process.getActiveResourcesInfo() back to its baseline; ${describeChild(r)}`);
        const grownMiB = (done.rss[1] - done.rss[0]) / 1024 / 1024;
        assert.ok(grownMiB < 30, `RSS grew ${grownMiB.toFixed(1)} MiB over ${CYCLES - 20} cycles`);
        assert.equal(r.timedOut, false, `the child did not exit by itself; ${describeChild(r)}`);
        assert.equal(r.code, 0, describeChild(r));
        const lag = r.exitAt - done.t;
        assert.ok(lag <= LIVENESS_MS, `exit came ${lag} ms after everything was closed`);
        row(t, {
          fault: `RST mid-frame × ${CYCLES} (leak check, child process)`,
          pair: 'our client → proxy → our server (child)',
          role: 'our client + our server',
          sent: { up: `${CYCLES} × (3 + 1 cut)`, down: `${CYCLES} × 3` },
          delivered: { up: `${CYCLES} × 3`, down: `${CYCLES} × 3` },
          events: { client: `${done.tally.clientErrorThenClose1006} × [error 200, close 1006]`, server: `${done.tally.serverErrorThenClose1006} × [error 200, close 1006]` },
          detectionMs: null,
          rssGrowthMiB: Number(grownMiB.toFixed(1)),
          resources: done.resources,
          exitLagMs: lag,
          wallMs: done.t - r.events[0].t,
        });
      });
    });
  });
});

/**
 * The leak check: our server and the fault proxy in the child; per cycle a new client
 * connects through the proxy, sends 3 numbered messages, gets their echoes, then sends an
 * 8 KiB binary message that the proxy cuts in the middle with a reset on both sides.
 * Reports unexpected events at once and a tally at the end, with the active resources
 * before and after and the RSS after 20 cycles and at the end.
 */
const LEAK_CHILD = `
import { startFaultProxy } from ${JSON.stringify(FAULT_PROXY_URL)};
import { delay } from ${JSON.stringify(SERVERS_URL)};
const CYCLES = Number(process.argv[2]);
const ARTIFACTS = new Set(['TTYWrap']);
const resources = () => process.getActiveResourcesInfo().filter((r) => !ARTIFACTS.has(r)).sort();
// Node's net module opens process.stderr the first time any socket is destroyed (its
// Socket._destroy compares the socket with process.stderr); open it now so the baseline has it.
void process.stderr;
emit('start');
await delay(50);
const baseline = resources();

const server = webSocket.createWebSocketServer();
let serverLog = [];
let serverGot = [];
server.on('messageReceive', ({ data, clientConnection }) => {
  serverGot.push(typeof data === 'string' ? data : 'bin');
  server.send(data, clientConnection).catch(() => {});
});
server.on('error', (err) => serverLog.push('error ' + err.code));
server.on('close', (conn, result) => serverLog.push('close ' + result.code));
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
const proxy = await startFaultProxy({ port: server.address().port });

const tally = { cycles: 0, echoesInOrder: 0, clientErrorThenClose1006: 0, serverErrorThenClose1006: 0, serverGotExactlyTheEchoed: 0 };
const rss = [];
for (let i = 0; i < CYCLES; i++) {
  const sent = [1, 2, 3].map((k) => 'c' + i + '#' + k);
  const log = [];
  const got = [];
  serverLog = [];
  serverGot = [];
  const ws = webSocket.createWebSocket();
  const ended = new Promise((resolve) => {
    ws.on('open', () => { for (const m of sent) ws.send(m); });
    ws.on('message', (err, data) => {
      got.push(data);
      if (got.length === sent.length) {
        proxy.armCut({ dir: 'up', when: (f) => f.opcode === 2 });
        ws.send(new ArrayBuffer(8192));
      }
    });
    ws.on('error', (err) => log.push('error ' + err.code + ' ' + err.data));
    ws.on('close', (err, value) => { log.push('close ' + value.code); resolve(); });
  });
  ws.connect(proxy.url);
  await ended;
  const deadline = Date.now() + 5000;
  while (!serverLog.some((x) => x.startsWith('close')) && Date.now() < deadline) await delay(2);
  tally.cycles += 1;
  if (JSON.stringify(got) === JSON.stringify(sent)) tally.echoesInOrder += 1;
  else emit('bad-echoes', { i, got });
  if (JSON.stringify(log) === JSON.stringify(['error 200 0', 'close 1006'])) tally.clientErrorThenClose1006 += 1;
  else emit('bad-client-events', { i, log });
  if (JSON.stringify(serverLog) === JSON.stringify(['error 200', 'close 1006'])) tally.serverErrorThenClose1006 += 1;
  else emit('bad-server-events', { i, serverLog });
  if (JSON.stringify(serverGot) === JSON.stringify(sent)) tally.serverGotExactlyTheEchoed += 1;
  else emit('bad-server-messages', { i, serverGot });
  for (const link of proxy.links) await link.closed;
  proxy.links.length = 0;
  if (i === 19 || i === CYCLES - 1) {
    globalThis.gc?.();
    rss.push(process.memoryUsage().rss);
  }
}
await server.stop();
await proxy.close();
await delay(50);
emit('done', { tally, rss, baseline, resources: resources() });
`;
