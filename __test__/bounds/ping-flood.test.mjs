// Issue #17 item 2 (shared.mjs): a ping flood from a client that never reads cannot pile up
// pongs in our server's memory, and the stream stays whole.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maskedFrame } from '../helpers/server.mjs';
import { waitUntil } from '../helpers/servers.mjs';
import { OP, SERVER_CHILD, launch, upgradedToChild, growthText, assertGrowth, scanFrames, repeated, linuxOnly } from './shared.mjs';

describe('issue #17: what a peer sends cannot size our memory before the bytes arrive', { skip: linuxOnly }, () => {
  it('ping flood: 400,000 pings of 125 bytes from a client that never reads → server VmRSS grows < 16 MiB; once it reads, the stream is intact and echoes', { timeout: 40_000 }, async (t) => {
    // 51 MB of pongs in all: about 4 MB fit in the kernel's socket buffers, the rest piles up
    // in the child unless its pending control frames are bounded (WRITE_BUFFER_MAX_BYTES,
    // 64 KiB). (200,000 pings grew an unbounded child by only ~21 MiB: too close to a bound.)
    const PINGS = 400_000;
    const child = launch(SERVER_CHILD, { report: true });
    let socket;
    try {
      socket = await upgradedToChild(child);
      socket.pause();
      const scan = scanFrames(socket);
      const before = await child.memory();
      const ping = maskedFrame(OP.PING, Buffer.alloc(125, 0x70));
      const block = repeated(ping, 8000);
      for (let i = 0; i < PINGS / 8000; i++) socket.write(block);
      socket.write(maskedFrame(OP.TEXT, Buffer.from('after the flood')));
      // The message after the pings shows the child has read them all (if it reads on
      // while its pongs cannot leave; if it stops reading instead, that bounds memory too).
      const consumed = await child.waitEvent('message', 1, 8000).then(
        () => true,
        () => false,
      );
      const after = await child.memory();
      const text = `${PINGS} pings read by the child: ${consumed}; ${growthText(before, after)}`;
      t.diagnostic(text);
      assert.ok(!child.exitInfo, text);
      // Checked last, so that a broken stream below is reported too.
      const memoryFailure = (() => {
        try {
          assertGrowth(before, after, { rssMiB: 16 }, text);
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      // Then the peer reads: the pongs (all or some, RFC 6455 §5.5.3) and the echo come in,
      // as whole frames, and the connection still echoes.
      socket.resume();
      const seen = () =>
        `${scan.pongs} pongs, ${scan.bytes} bytes, texts ${JSON.stringify(scan.texts)}, closes ${JSON.stringify(scan.closes)}` +
        `${memoryFailure ? `; also: ${memoryFailure.message}` : ''}`;
      await waitUntil(() => scan.texts.includes('after the flood') || scan.corrupt, { timeout: 15_000, label: 'the echo behind the pongs' }).catch((e) => {
        throw new Error(`${e.message}; got ${seen()}`);
      });
      assert.equal(scan.corrupt, undefined, seen());
      socket.write(maskedFrame(OP.TEXT, Buffer.from('still works')));
      await waitUntil(() => scan.texts.includes('still works') || scan.corrupt, { timeout: 5000, label: 'the echo of a message sent after draining' });
      assert.equal(scan.corrupt, undefined, seen());
      assert.deepEqual(scan.texts, ['after the flood', 'still works']);
      assert.deepEqual(scan.closes, [], 'no close frame');
      t.diagnostic(`received ${seen()}`);
      if (memoryFailure) throw memoryFailure;
    } finally {
      socket?.destroy();
      await child.end();
    }
  });
});
