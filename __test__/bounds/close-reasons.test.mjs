// Issue #17 item 2 (shared.mjs): RFC 6455 §5.5 — a close frame with more than 125 payload
// bytes is a protocol error (1002), in both roles.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SE, startServer, maskedFrame, rawUpgraded, firstCloseCode } from '../helpers/server.mjs';
import { startRawWsServer, encodeFrame, closePayload, waitUntil, withTimeout } from '../helpers/servers.mjs';
import { E, assertBusinessError } from '../helpers/assertions.mjs';
import { openSession, endSession } from '../helpers/client.mjs';
import { OP, linuxOnly } from './shared.mjs';

describe('issue #17: what a peer sends cannot size our memory before the bytes arrive', { skip: linuxOnly }, () => {
  describe('RFC 6455 §5.5: a close frame with more than 125 payload bytes is a protocol error → 1002', () => {
    const longClose = closePayload(1000, 'x'.repeat(124)); // 126 bytes

    it('server: close 1002 to the peer, error, close 1006', { timeout: 15_000 }, async () => {
      const started = await startServer();
      let socket;
      try {
        socket = await rawUpgraded(started.port);
        await started.rec.next('connect');
        socket.write(maskedFrame(OP.CLOSE, longClose));
        await withTimeout(socket.ended, 5000, 'the server dropping the connection');
        assert.equal(firstCloseCode(socket.frames), 1002, 'close code on the wire');
        assertBusinessError((await started.rec.next('error')).err, SE.EVENT);
        assert.equal((await started.rec.next('close')).result.code, 1006);
      } finally {
        socket?.destroy();
        await started.stop();
      }
    });

    it('client: close 1002 to the peer, error {200, "0"}, close 1006', { timeout: 15_000 }, async () => {
      const peer = await startRawWsServer();
      let session;
      try {
        session = await openSession(peer.url);
        const conn = peer.connections[0];
        conn.socket.write(encodeFrame(OP.CLOSE, longClose));
        const closed = await session.rec.waitFor('close');
        assert.deepEqual(closed.value, { code: 1006, reason: 'The link is down' });
        assert.deepEqual(session.rec.types().slice(-2), ['error', 'close']);
        assertBusinessError(session.rec.of('error')[0].value, E.EVENT, '0');
        await waitUntil(() => conn.frames.some((f) => f.opcode === OP.CLOSE), { timeout: 3000, label: 'a close frame from the client' });
        const frame = conn.frames.find((f) => f.opcode === OP.CLOSE);
        assert.equal(frame.payload.readUInt16BE(0), 1002);
        assert.ok(frame.masked);
      } finally {
        await peer.close();
        await endSession(session);
      }
    });
  });
});
