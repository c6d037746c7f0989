// Faults survived, measured (issue #17 item 5; shared.mjs): a transparent but bad link —
// latency, a throttle, 1-byte segments — through the fault proxy, for each of the three pairs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PAIRS, startPair, numbered, assertDelivered, assertClean, assertNothingAfterClose, row } from './shared.mjs';

const LATENCY_MS = 50;
const RATE_BYTES_PER_SEC = 64 * 1024;

describe('faults survived, measured (issue #17 item 5)', () => {
  describe('the other faults, one at a time', { concurrency: 1 }, () => {
    describe('a transparent but bad link: every message arrives once, in order; clean close', () => {
      const FAULTS = [
        { fault: `latency ${LATENCY_MS} ms each way`, faults: { latencyMs: LATENCY_MS }, count: 20, size: 0 },
        { fault: 'throttled to 64 KiB/s', faults: { bytesPerSec: RATE_BYTES_PER_SEC }, count: 16, size: 2048 },
        { fault: 'every write split into 1-byte segments', faults: { segmentBytes: 1 }, count: 20, size: 0 },
      ];
      for (const f of FAULTS) {
        for (const pair of PAIRS) {
          it(`${f.fault}: ${pair.name}`, async (t) => {
            const p = await startPair(pair, f.faults);
            t.after(() => p.close());
            const sent = numbered('c', f.count, f.size);
            const started = Date.now();
            const accepted = await Promise.all(sent.map((m) => p.client.send(m)));
            assert.ok(accepted.every((v) => v === true));
            await p.client.waitReceived(f.count, 15_000);
            const exchangeMs = Date.now() - started;
            assertDelivered(p.server.received(), sent, 'client → server');
            assertDelivered(p.client.received(), sent, 'server → client (echo)');
            await p.client.close(4000, 'done');
            await p.client.waitEnded();
            await p.server.waitEnded();
            assertClean(p.client, 4000, 'done', pair.name);
            assertClean(p.server, 4000, 'done', pair.name);
            await assertNothingAfterClose([p.client, p.server]);
            const [link] = p.proxy.links;
            if (f.faults.latencyMs) {
              // The upgrade and the echoes each cross the proxy once per direction.
              assert.ok(p.openMs >= 2 * LATENCY_MS - 5, `open after ${p.openMs} ms: the latency was not applied`);
              assert.ok(exchangeMs >= 2 * LATENCY_MS - 5, `echoes after ${exchangeMs} ms`);
            }
            if (f.faults.bytesPerSec) {
              const bytes = sent.reduce((n, m) => n + m.length, 0);
              const floor = (0.9 * bytes * 1000) / RATE_BYTES_PER_SEC;
              assert.ok(exchangeMs >= floor, `${bytes} B echoed in ${exchangeMs} ms: faster than the throttle allows (${floor} ms)`);
              for (const pipe of [link.up, link.down]) {
                const rate = (pipe.stats.bytesOut * 1000) / Math.max(1, pipe.stats.lastWriteAt - pipe.stats.firstWriteAt);
                assert.ok(rate <= RATE_BYTES_PER_SEC * 1.15, `${pipe.dir}: ${Math.round(rate)} B/s`);
              }
            }
            if (f.faults.segmentBytes) {
              for (const pipe of [link.up, link.down]) {
                assert.ok(pipe.stats.bytesOut > 0);
                assert.equal(pipe.stats.writes, pipe.stats.bytesOut, `${pipe.dir}: one write per byte`);
              }
            }
            row(t, {
              fault: f.fault,
              pair: pair.name,
              role: pair.role,
              sent: { up: sent.length, down: sent.length },
              delivered: { up: p.server.received().length, down: p.client.received().length },
              events: { client: p.client.events(), server: p.server.events() },
              detectionMs: null,
              openMs: p.openMs,
              exchangeMs,
            });
          });
        }
      }
    });
  });
});
