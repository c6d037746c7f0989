// Receive flow control (issue #10, item 1), both roles: a peer that sends faster than
// the JS listener consumes is pushed back by TCP instead of growing our memory, and
// nothing is lost; a peer that stops reading holds no more than what the app queued.
// The fast peer is a raw sender in its own process (helpers/flood.mjs); the side under
// test runs in a child process that reports its peak RSS. Memory bounds are generous:
// without flow control the client peaked at 365 MiB in the first scenario.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runChild, spawnChild, describe as describeChild } from './helpers/child.mjs';
import { withTimeout } from './helpers/servers.mjs';

const FLOOD = fileURLToPath(new URL('./helpers/flood.mjs', import.meta.url));
const PEAK_RSS_BOUND_MIB = 160;
/**
 * 300 MiB through a listener that takes 5 µs per message, in 1 KiB messages (they travel
 * in event batches) and in 256 KiB ones (handed over out of band as external
 * ArrayBuffers, src/runtime/core/events.rs: V8 must count them to collect in time).
 */
const FLOODS = [
  { size: 1024, messages: 300 * 1024 },
  { size: 256 * 1024, messages: 1200 },
];

/** Starts helpers/flood.mjs; resolves `{proc, port}` once it printed its port (server modes). */
async function flood(args) {
  const proc = spawn(process.execPath, [FLOOD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (args[0] === 'client') return { proc };
  const port = await withTimeout(
    new Promise((resolve) => proc.stdout.once('data', (d) => resolve(Number(String(d).trim())))),
    5000,
    'flood port',
  );
  return { proc, port };
}

const SLOW = 'const until = process.hrtime.bigint() + 5000n; while (process.hrtime.bigint() < until);';

describe('receive flow control', () => {
  for (const { size: SIZE, messages: MESSAGES } of FLOODS) {
    it(`client: a fast server and a slow message listener keep RSS bounded, every ${SIZE} B message arrives`, async () => {
      const peer = await flood(['server', String(MESSAGES), String(SIZE)]);
      try {
        const r = await runChild(
          `
  const ws = webSocket.createWebSocket();
  let n = 0;
  let bytes = 0;
  ws.on('message', (err, data) => {
    ${SLOW}
    bytes += data.byteLength;
    if (++n === ${MESSAGES}) {
      emit('done', { n, bytes, peakMiB: process.resourceUsage().maxRSS / 1024 });
      process.exit(0);
    }
  });
  ws.on('error', (e) => emit('error', { detail: e.detail }));
  ws.connect('ws://127.0.0.1:${peer.port}');
  `,
          { timeout: 60_000 },
        );
        const done = r.events.find((e) => e.ev === 'done');
        assert.ok(done, describeChild(r));
        assert.equal(done.bytes, MESSAGES * SIZE);
        assert.ok(done.peakMiB < PEAK_RSS_BOUND_MIB, `peak RSS ${done.peakMiB.toFixed(1)} MiB`);
      } finally {
        peer.proc.kill();
      }
    });

    it(`server: a fast client and a slow messageReceive listener keep RSS bounded, every ${SIZE} B message arrives`, async () => {
      const child = spawnChild(`
  const server = webSocket.createWebSocketServer();
  let n = 0;
  let bytes = 0;
  server.on('messageReceive', ({ data }) => {
    ${SLOW}
    bytes += data.byteLength;
    if (++n === ${MESSAGES}) {
      emit('done', { n, bytes, peakMiB: process.resourceUsage().maxRSS / 1024 });
      server.stop();
    }
  });
  await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
  emit('port', { port: server.address().port });
  `);
      let peer;
      try {
        const { port } = await child.waitFor('port');
        peer = await flood(['client', String(port), String(MESSAGES), String(SIZE)]);
        const done = await child.waitFor('done', 60_000);
        assert.equal(done.bytes, MESSAGES * SIZE);
        assert.ok(done.peakMiB < PEAK_RSS_BOUND_MIB, `peak RSS ${done.peakMiB.toFixed(1)} MiB`);
      } finally {
        peer?.proc.kill();
        child.kill();
      }
    });
  }

  it('a peer that never reads: memory grows by about what the app queued, not more', async () => {
    const sink = await flood(['sink']);
    try {
      const r = await runChild(
        `
const ws = webSocket.createWebSocket();
ws.on('open', async () => {
  const before = process.memoryUsage().rss;
  const chunk = new ArrayBuffer(1024 * 1024);
  for (let i = 0; i < 64; i++) await ws.send(chunk);
  await new Promise((r) => setTimeout(r, 500));
  emit('done', { grewMiB: (process.memoryUsage().rss - before) / 1048576 });
  process.exit(0);
});
ws.connect('ws://127.0.0.1:${sink.port}');
`,
        { timeout: 30_000 },
      );
      const done = r.events.find((e) => e.ev === 'done');
      assert.ok(done, describeChild(r));
      // 64 MiB queued (R43/R44: every send succeeded); allow one copy more plus slack.
      assert.ok(done.grewMiB < 2 * 64 + 32, `grew ${done.grewMiB.toFixed(1)} MiB`);
    } finally {
      sink.proc.kill();
    }
  });
});
