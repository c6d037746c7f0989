// Faults survived, measured (issue #17 item 5; shared.mjs): a black hole — the fault proxy
// forwards nothing more and keeps both sockets open — found by our heartbeat, by the close
// bound (R49) of a close() into it, or not at all by our server (S16) until TCP ends.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { delay } from '../helpers/servers.mjs';
import {
  PAIRS, startPair, ourClient, numbered, assertDelivered, assertAbnormal, assertClean, assertNothingAfterClose, row,
  MIN_HEARTBEAT, DETECTION_SLACK_MS, QUIET_MS,
} from './shared.mjs';

/** R49: a close this side started is torn down after this long without the peer's answer. */
const CLOSE_TIMEOUT_MS = 5000;

describe('faults survived, measured (issue #17 item 5)', () => {
  describe('the other faults, one at a time', { concurrency: 1 }, () => {
    describe('black hole: the proxy forwards nothing more and keeps both sockets open', () => {
      for (const pair of PAIRS.filter((x) => x.client === ourClient)) {
        it(`${pair.name}: our heartbeat (R65/R66, pingInterval 1, pongTimeout 1) ends it within 2 s`, async (t) => {
          const p = await startPair(pair, {}, MIN_HEARTBEAT);
          t.after(() => p.close());
          const before = numbered('c', 3);
          for (const m of before) assert.equal(await p.client.send(m), true);
          await p.client.waitReceived(before.length);
          p.proxy.set({ blackhole: true });
          const holeAt = Date.now();
          const lost = numbered('lost', 3);
          for (const m of lost) assert.equal(await p.client.send(m), true, 'sends while OPEN are accepted (R44)');
          await p.client.waitEnded(MIN_HEARTBEAT.pingInterval * 1000 + MIN_HEARTBEAT.pongTimeout * 1000 + 5000);
          const detectionMs = p.client.endedAt() - holeAt;
          assertAbnormal(p.client, 'client');
          const bound = (MIN_HEARTBEAT.pingInterval + MIN_HEARTBEAT.pongTimeout) * 1000;
          assert.ok(detectionMs <= bound + DETECTION_SLACK_MS, `detected after ${detectionMs} ms (bound ${bound} ms + slack)`);
          // The Pong that went missing was asked for at most pingInterval before the hole.
          assert.ok(detectionMs >= MIN_HEARTBEAT.pongTimeout * 1000 - 100, `detected after ${detectionMs} ms: before the pong deadline`);
          assertDelivered(p.server.received(), before, 'nothing sent into the hole arrived');
          assertDelivered(p.client.received(), before, 'echoes');
          const link = p.proxy.links[0];
          assert.ok(link.up.stats.dropped > 0, 'the hole swallowed what the client sent');
          // The server's side is still half-open: nothing reached it (S16: it sends no Pings).
          assert.deepEqual(p.server.events(), [], 'the server has not seen the end yet');
          // Let the TCP end reach the server: an abnormal end for it (S20/S18).
          p.proxy.releaseAll();
          await p.server.waitEnded();
          assertAbnormal(p.server, 'server');
          await assertNothingAfterClose([p.client, p.server]);
          row(t, {
            fault: 'black hole (half-open), heartbeat 1 s / 1 s',
            pair: pair.name,
            role: pair.role,
            sent: { up: before.length + lost.length, down: before.length },
            delivered: { up: p.server.received().length, down: p.client.received().length },
            events: { client: p.client.events(), server: p.server.events() },
            detectionMs,
            note: 'the server side ends once the proxy lets the TCP end through',
          });
        });
      }

      it('close() into a black hole: our client (R49) and our server (S15/S18) end it after the 5 s close bound, with the code they sent', async (t) => {
        // Both at once, each through its own proxy, so the 5 s are waited once.
        const closeIntoHole = async (pair, initiator, code, reason) => {
          const p = await startPair(pair);
          t.after(() => p.close());
          const before = numbered('c', 3);
          for (const m of before) await p.client.send(m);
          await p.client.waitReceived(before.length);
          p.proxy.set({ blackhole: true });
          const closedAt = Date.now();
          await p[initiator].close(code, reason);
          const end = p[initiator];
          await end.waitEnded(CLOSE_TIMEOUT_MS + 5000);
          const detectionMs = end.endedAt() - closedAt;
          assertClean(end, code, reason, `${initiator} that closed into the hole`);
          assert.ok(detectionMs >= CLOSE_TIMEOUT_MS - 50, `${initiator}: ended after ${detectionMs} ms, before the close bound`);
          assert.ok(detectionMs <= CLOSE_TIMEOUT_MS + DETECTION_SLACK_MS, `${initiator}: ended after ${detectionMs} ms`);
          // The other side never saw the close frame; once TCP ends it is an abnormal end.
          const other = p[initiator === 'client' ? 'server' : 'client'];
          assert.deepEqual(other.events(), [], 'the other side is still half-open');
          p.proxy.releaseAll();
          await other.waitEnded();
          assertAbnormal(other, initiator === 'client' ? 'server' : 'client');
          assertDelivered(p.server.received(), before, 'client → server');
          assertDelivered(p.client.received(), before, 'server → client');
          await assertNothingAfterClose([p.client, p.server]);
          return { p, pair, initiator, before, detectionMs };
        };
        const results = await Promise.all([
          closeIntoHole(PAIRS[0], 'client', 4002, 'client into the hole'),
          closeIntoHole(PAIRS[1], 'server', 4003, 'server into the hole'),
        ]);
        for (const { p, pair, initiator, before, detectionMs } of results) {
          row(t, {
            fault: `black hole, then ${initiator} close()`,
            pair: pair.name,
            role: pair.role,
            sent: { up: before.length, down: before.length },
            delivered: { up: p.server.received().length, down: p.client.received().length },
            events: { client: p.client.events(), server: p.server.events() },
            detectionMs: { [`our ${initiator} (close bound)`]: detectionMs },
          });
        }
      });

      it('ws client → proxy → our server: the server (no heartbeat, S16) keeps the half-open link until TCP ends', async (t) => {
        const p = await startPair(PAIRS[1]);
        t.after(() => p.close());
        const before = numbered('c', 3);
        for (const m of before) await p.client.send(m);
        await p.client.waitReceived(before.length);
        p.proxy.set({ blackhole: true });
        const lost = numbered('lost', 3);
        for (const m of lost) await p.client.send(m);
        p.client.ws.terminate(); // the ws client goes away; the hole keeps the server's side open
        await delay(QUIET_MS);
        assert.equal(p.server.server.listAllConnections().length, 1, 'still listed: nothing told the server');
        assert.deepEqual(p.server.events(), []);
        const releasedAt = Date.now();
        p.proxy.releaseAll();
        await p.server.waitEnded();
        assertAbnormal(p.server, 'server');
        assertDelivered(p.server.received(), before, 'client → server');
        await assertNothingAfterClose([p.server]);
        row(t, {
          fault: 'black hole (half-open), peer gone',
          pair: PAIRS[1].name,
          role: PAIRS[1].role,
          sent: { up: before.length + lost.length, down: before.length },
          delivered: { up: p.server.received().length, down: p.client.received().length },
          events: { server: p.server.events() },
          detectionMs: null, // none while half-open (S16: the server sends no Pings)
          afterTcpEndMs: p.server.endedAt() - releasedAt,
        });
      });
    });
  });
});
