// Faults survived, measured (issue #17 item 5; shared.mjs): a TCP reset (RST) from the fault
// proxy in the middle of a frame and in the middle of the close handshake, for each pair.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withTimeout } from '../helpers/servers.mjs';
import { PAIRS, startPair, numbered, assertDelivered, assertAbnormal, assertClean, assertNothingAfterClose, row } from './shared.mjs';

const BIG = 64 * 1024; // the message a mid-frame reset cuts
const OP = { BINARY: 2, CLOSE: 8 };

describe('faults survived, measured (issue #17 item 5)', () => {
  describe('the other faults, one at a time', { concurrency: 1 }, () => {
    describe('TCP reset (RST) in the middle of a frame', () => {
      const K = 5;
      for (const pair of PAIRS) {
        for (const dir of ['down', 'up']) {
          const sender = dir === 'up' ? 'client' : 'server';
          it(`${pair.name}: reset inside a ${BIG} B message ${sender} → ${dir === 'up' ? 'server' : 'client'}`, async (t) => {
            const p = await startPair(pair);
            t.after(() => p.close());
            const from = p[sender];
            const to = dir === 'up' ? p.server : p.client;
            const sent = numbered(sender[0], K);
            for (const m of sent) assert.equal(await from.send(m), true);
            await to.waitReceived(K);
            // The client waits for its echoes too, so nothing else is in flight at the cut.
            if (dir === 'up') await p.client.waitReceived(K);
            const cut = p.proxy.armCut({ dir, when: (f) => f.opcode === OP.BINARY });
            const accepted = from.send(new ArrayBuffer(BIG));
            // Ours accepts at once (R44, S14); a `ws` end reports the write, which the reset may fail.
            if (from.kind.startsWith('our')) assert.equal(await accepted, true);
            else accepted.catch(() => {});
            const { frame } = await withTimeout(cut, 5000, 'the cut');
            const resetAt = Date.now();
            assert.equal(frame.payloadLength, BIG);
            await Promise.all([p.client.waitEnded(), p.server.waitEnded()]);
            assertDelivered(to.received(), sent, 'before the reset');
            if (dir === 'up') assertDelivered(p.client.received(), sent, 'echoes before the reset');
            assertAbnormal(p.client, 'client');
            assertAbnormal(p.server, 'server');
            await assertNothingAfterClose([p.client, p.server]);
            row(t, {
              fault: `RST mid-frame (${BIG} B message, ${sender} → ${dir === 'up' ? 'server' : 'client'})`,
              pair: pair.name,
              role: pair.role,
              sent: { [dir]: `${K} + 1 cut` },
              delivered: { [dir]: to.received().length },
              events: { client: p.client.events(), server: p.server.events() },
              detectionMs: detection(resetAt, [p.client, p.server]),
            });
          });
        }
      }
    });

    describe('TCP reset (RST) in the middle of the close handshake', () => {
      // Who saw a close frame reports it (R49/R61 row 1 for our client's own close, S18
      // for our server); who did not reports an abnormal end (R62, S20).
      // `ws` peers report the code of a close frame they received, 1006 otherwise.
      const VARIANTS = [
        {
          name: "the client's close frame cut halfway",
          initiator: 'client',
          cut: { dir: 'up', when: (f) => f.opcode === OP.CLOSE, fraction: 0.5 },
          expect: { 'our client': 'clean', 'ws client': 'abnormal', 'our server': 'abnormal', 'ws server': 'abnormal' },
        },
        {
          name: "the client's close frame delivered, the answer lost",
          initiator: 'client',
          cut: { dir: 'down', when: (f) => f.opcode === OP.CLOSE, fraction: 0 },
          expect: { 'our client': 'clean', 'ws client': 'abnormal', 'our server': 'clean', 'ws server': 'clean' },
        },
        {
          name: "the server's close frame cut halfway",
          initiator: 'server',
          cut: { dir: 'down', when: (f) => f.opcode === OP.CLOSE, fraction: 0.5 },
          expect: { 'our client': 'abnormal', 'ws client': 'abnormal', 'our server': 'clean', 'ws server': 'abnormal' },
        },
      ];
      const CODE = { client: 4000, server: 4001 };
      const REASON = { client: 'client bye', server: 'server bye' };
      for (const v of VARIANTS) {
        for (const pair of PAIRS) {
          it(`${pair.name}: ${v.name}`, async (t) => {
            const p = await startPair(pair);
            t.after(() => p.close());
            const sent = numbered('c', 3);
            for (const m of sent) assert.equal(await p.client.send(m), true);
            await p.client.waitReceived(sent.length);
            const cut = p.proxy.armCut(v.cut);
            const code = CODE[v.initiator];
            const reason = REASON[v.initiator];
            await p[v.initiator].close(code, reason);
            await withTimeout(cut, 5000, 'the cut');
            const resetAt = Date.now();
            await Promise.all([p.client.waitEnded(), p.server.waitEnded()]);
            assertDelivered(p.server.received(), sent, 'client → server');
            assertDelivered(p.client.received(), sent, 'server → client');
            for (const side of ['client', 'server']) {
              const end = p[side];
              if (v.expect[end.kind] === 'clean') assertClean(end, code, reason, side);
              else assertAbnormal(end, side);
            }
            await assertNothingAfterClose([p.client, p.server]);
            row(t, {
              fault: `RST in the close handshake: ${v.name}`,
              pair: pair.name,
              role: pair.role,
              sent: { up: sent.length, down: sent.length },
              delivered: { up: p.server.received().length, down: p.client.received().length },
              events: { client: p.client.events(), server: p.server.events() },
              detectionMs: detection(resetAt, [p.client, p.server]),
            });
          });
        }
      }
    });
  });
});

/**
 * Milliseconds from `from` (the reset) to the first error/close event of each of our ends;
 * an end that had finished its close before the reset is reported as such.
 */
function detection(from, ends) {
  const out = {};
  for (const end of ends) {
    if (!end.endedAt) continue;
    const ms = end.endedAt() - from;
    out[end.kind] = ms < 0 ? 'closed before the reset' : ms;
  }
  return out;
}
