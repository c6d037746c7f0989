// Issue #17 item 2 (shared.mjs): the frames one message may have are bounded; one frame more
// ends the connection with 1009, in both roles, and memory stays flat.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SE, maskedFrame } from '../helpers/server.mjs';
import { startRawWsServer, encodeFrame, waitUntil, withTimeout } from '../helpers/servers.mjs';
import { E } from '../helpers/assertions.mjs';
import { OP, SERVER_CHILD, CLIENT_CHILD, live, launch, upgradedToChild, assertGrowth, scanFrames, repeated, linuxOnly } from './shared.mjs';

/** Frames one message may have (MESSAGE_FRAGMENTS_MAX): above Autobahn 9.3.1's 65,536. */
const FRAGMENTS_MAX = 131_072;
/**
 * The `close` event's code after one frame too many (1009 goes on the wire either way): an
 * abnormal end as in R61/R62 and S18/S20 (issue #17 item 2). R59's byte limit reports 1009
 * in the event as well; if this bound is to match it, this is the one value to change.
 */
const FRAGMENTS_CLOSE_EVENT_CODE = 1009; // R59: a message over a receive bound ends with 1009 on both sides

/**
 * The frames of one text message with `frames` frames in all: `first` (FIN clear), empty
 * continuations, then `last` with FIN set — or, when `last` is null, `frames` frames none
 * of which ends the message. `masked`: client frames.
 */
function fragmentedText(first, last, frames, masked) {
  const frame = masked ? maskedFrame : encodeFrame;
  const middle = last === null ? frames - 1 : frames - 2;
  const parts = [frame(OP.TEXT, Buffer.from(first), false), repeated(frame(OP.CONT, Buffer.alloc(0), false), middle)];
  if (last !== null) parts.push(frame(OP.CONT, Buffer.from(last), true));
  return Buffer.concat(parts);
}

/** The kinds of the child's reported events, in order (of those named in `kinds`). */
const sequence = (child, kinds) =>
  child
    .events()
    .filter((e) => kinds.includes(e.ev))
    .map((e) => e.ev);

describe('issue #17: what a peer sends cannot size our memory before the bytes arrive', { skip: linuxOnly }, () => {
  describe(`fragments per message: at most ${FRAGMENTS_MAX} frames, one more → 1009`, () => {
    it(`server: a message of exactly ${FRAGMENTS_MAX} frames is echoed; one frame more → close 1009 to the peer, error, close ${FRAGMENTS_CLOSE_EVENT_CODE} (S18, S20)`, { timeout: 30_000 }, async (t) => {
      const child = launch(SERVER_CHILD, { report: true });
      let socket;
      try {
        socket = await upgradedToChild(child);
        const scan = scanFrames(socket);
        const before = await child.memory();
        socket.write(fragmentedText('a', 'b', FRAGMENTS_MAX, true));
        await waitUntil(() => scan.texts.includes('ab'), { timeout: 5000, label: `the echo of a ${FRAGMENTS_MAX}-frame message` });
        socket.write(fragmentedText('c', null, FRAGMENTS_MAX + 1, true));
        await waitUntil(() => scan.closes.length > 0 || socket.destroyed, {
          timeout: 5000,
          label: `a close frame after frame ${FRAGMENTS_MAX + 1} (the child got ${JSON.stringify(child.all('message'))})`,
        });
        assert.deepEqual(scan.closes.map((c) => c.code), [1009], 'close frame code on the wire');
        // A peer that never answers the close: dropped at once, or at R49's 5 s bound.
        await withTimeout(socket.ended, 7000, 'the server dropping the connection');
        const closed = await child.waitEvent('close', 1, 5000);
        assert.deepEqual(sequence(child, ['message', 'error', 'close']), ['message', 'error', 'close']);
        assert.equal(child.all('message')[0].text, 'ab');
        const err = child.all('error')[0];
        assert.equal(err.json, JSON.stringify(SE.EVENT));
        assert.equal(closed.code, FRAGMENTS_CLOSE_EVENT_CODE, 'close event code');
        const after = await child.memory();
        t.diagnostic(assertGrowth(before, after, { rssMiB: 32 }, `${2 * FRAGMENTS_MAX + 1} frames`));
      } finally {
        socket?.destroy();
        await child.end();
      }
    });

    it(`client: a message of exactly ${FRAGMENTS_MAX} frames is delivered; one frame more → close 1009 to the peer, error, close ${FRAGMENTS_CLOSE_EVENT_CODE} (R61, R62)`, { timeout: 30_000 }, async (t) => {
      const peer = await startRawWsServer();
      live.servers.add(peer);
      const child = launch(CLIENT_CHILD, { url: peer.url, clients: 1, report: true, echo: true });
      try {
        await child.waitEvent('opened');
        const conn = peer.connections[0];
        const before = await child.memory();
        conn.socket.write(fragmentedText('a', 'b', FRAGMENTS_MAX, false));
        await waitUntil(() => conn.frames.some((f) => f.opcode === OP.TEXT), { timeout: 5000, label: `the echo of a ${FRAGMENTS_MAX}-frame message` });
        assert.equal(conn.frames.find((f) => f.opcode === OP.TEXT).payload.toString(), 'ab');
        conn.socket.write(fragmentedText('c', null, FRAGMENTS_MAX + 1, false));
        await waitUntil(() => conn.frames.some((f) => f.opcode === OP.CLOSE) || conn.socket.destroyed, {
          timeout: 5000,
          label: `a close frame after frame ${FRAGMENTS_MAX + 1}`,
        });
        const close = conn.frames.find((f) => f.opcode === OP.CLOSE);
        assert.ok(close, 'a close frame from the client');
        assert.equal(close.payload.readUInt16BE(0), 1009, 'close frame code on the wire');
        assert.ok(close.masked);
        const closed = await child.waitEvent('close', 1, 7000);
        assert.deepEqual(sequence(child, ['message', 'error', 'close']), ['message', 'error', 'close']);
        const err = child.all('error')[0];
        assert.equal(err.json, JSON.stringify({ ...E.EVENT, data: '0' }));
        assert.deepEqual({ code: closed.code, reason: closed.reason }, { code: FRAGMENTS_CLOSE_EVENT_CODE, reason: 'The link is down' }, 'close event');
        const after = await child.memory();
        t.diagnostic(assertGrowth(before, after, { rssMiB: 32 }, `${2 * FRAGMENTS_MAX + 1} frames`));
      } finally {
        await child.end();
        await peer.close();
        live.servers.delete(peer);
      }
    });
  });
});
