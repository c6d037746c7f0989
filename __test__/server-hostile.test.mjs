// Hostile clients against the server (issue #8 item 3): protocol breaches get the
// RFC 6455 close code and are reported as error + close; a client that never reads
// or never answers a close cannot hang the server or its stop(); resets mid-message
// end the connection cleanly. Every peer is a raw TCP socket on 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertBusinessError } from './helpers/assertions.mjs';
import { SE, startServer, wsClient, wsReceived, maskedFrame, rawUpgraded, firstCloseCode } from './helpers/server.mjs';
import { closePayload, delay, encodeFrame, withTimeout } from './helpers/servers.mjs';

/** The connection is failed: the server sends close `code`, then reports error + close. */
async function expectFailed({ rec, socket }, code, closeCode = 1006) {
  await withTimeout(socket.ended, 5000, 'server drops the connection');
  assert.equal(firstCloseCode(socket.frames), code, 'close code on the wire');
  assertBusinessError((await rec.next('error')).err, SE.EVENT);
  assert.equal((await rec.next('close')).result.code, closeCode);
}

async function upgradedPeer() {
  const started = await startServer();
  const socket = await rawUpgraded(started.port);
  await started.rec.next('connect');
  return { ...started, socket };
}

describe('protocol breaches', () => {
  it('an unmasked frame: 1002', async () => {
    const peer = await upgradedPeer();
    peer.socket.write(encodeFrame(1, Buffer.from('not masked')));
    await expectFailed(peer, 1002);
    await peer.server.stop();
  });

  it('garbage bytes (reserved opcode, RSV bits): 1002', async () => {
    for (const bytes of [Buffer.from([0x83, 0x80, 0, 0, 0, 0]), Buffer.from([0xf1, 0x80, 1, 2, 3, 4])]) {
      const peer = await upgradedPeer();
      peer.socket.write(bytes);
      await expectFailed(peer, 1002);
      await peer.server.stop();
    }
  });

  it('a fragmented control frame, and an orphan continuation: 1002', async () => {
    for (const frame of [maskedFrame(9, Buffer.from('p'), false), maskedFrame(0, Buffer.from('x'), true)]) {
      const peer = await upgradedPeer();
      peer.socket.write(frame);
      await expectFailed(peer, 1002);
      await peer.server.stop();
    }
  });

  it('invalid UTF-8 in a text message: 1007', async () => {
    const peer = await upgradedPeer();
    peer.socket.write(maskedFrame(1, Buffer.from([0x68, 0xc3, 0x28])));
    await expectFailed(peer, 1007);
    await peer.server.stop();
  });

  it('a 2^63 length: 1009 and close 1009 (R59)', async () => {
    const peer = await upgradedPeer();
    const header = Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    peer.socket.write(header);
    await expectFailed(peer, 1009, 1009);
    await peer.server.stop();
  });

  it('a close code not allowed on the wire: 1002', async () => {
    const peer = await upgradedPeer();
    peer.socket.write(maskedFrame(8, closePayload(1005)));
    await expectFailed(peer, 1002);
    await peer.server.stop();
  });

  it('a message that preceded the breach is still delivered, and its echo written first', async () => {
    const peer = await upgradedPeer();
    peer.server.on('messageReceive', ({ data, clientConnection }) => {
      peer.rec.events.push({ type: 'messageReceive', data });
      peer.server.send(data, clientConnection);
    });
    peer.socket.write(Buffer.concat([maskedFrame(1, Buffer.from('ok')), encodeFrame(1, Buffer.from('bad'))]));
    await withTimeout(peer.socket.ended, 5000, 'dropped');
    // The echo frame (0x81 0x02 'ok') precedes the close frame.
    assert.deepEqual([...peer.socket.frames.subarray(0, 4)], [0x81, 2, 0x6f, 0x6b]);
    assert.equal(firstCloseCode(peer.socket.frames), 1002);
    await peer.server.stop();
  });
});

describe('misbehaving transports', () => {
  it('a TCP reset in the middle of a message: error then close 1006', async () => {
    const peer = await upgradedPeer();
    const big = maskedFrame(2, Buffer.alloc(256 * 1024, 7));
    peer.socket.write(big.subarray(0, 100 * 1024));
    await delay(20);
    peer.socket.resetAndDestroy();
    assertBusinessError((await peer.rec.next('error')).err, SE.EVENT);
    assert.equal((await peer.rec.next('close')).result.code, 1006);
    await peer.server.stop();
  });

  it('a client that never reads: the server keeps serving others and stop() still ends it', async () => {
    const peer = await upgradedPeer();
    const { conn } = { conn: peer.server.listAllConnections()[0] };
    peer.socket.pause();
    const chunk = new ArrayBuffer(1024 * 1024);
    for (let i = 0; i < 20; i++) assert.equal(await peer.server.send(chunk, conn), true);
    peer.server.on('messageReceive', ({ data, clientConnection }) => peer.server.send(data, clientConnection));
    const other = await wsClient(`ws://127.0.0.1:${peer.port}`);
    other.send('still served');
    assert.deepEqual(await wsReceived(other, 1), ['still served']);
    other.close();
    const started = Date.now();
    assert.equal(await withTimeout(peer.server.stop(), 10_000, 'stop'), true);
    // Bounded by the 5 s close timer (R49), not by the client.
    assert.ok(Date.now() - started < 9000);
    peer.socket.destroy();
  });

  it('a client that never answers the close: stop() resolves within the 5 s bound', async () => {
    const peer = await upgradedPeer();
    // The socket stays open and reads, but never sends a close frame back.
    const started = Date.now();
    assert.equal(await withTimeout(peer.server.stop(), 10_000, 'stop'), true);
    assert.ok(Date.now() - started < 9000);
    assert.equal(firstCloseCode(peer.socket.frames), 1001);
    const { result } = peer.rec.of('close')[0];
    assert.equal(result.code, 1001);
    peer.socket.destroy();
  });

  it('a ping flood is answered and does not disturb messages', async () => {
    const peer = await upgradedPeer();
    const pings = Buffer.concat(Array.from({ length: 1000 }, () => maskedFrame(9, Buffer.from('p'))));
    peer.socket.write(Buffer.concat([pings, maskedFrame(1, Buffer.from('after pings'))]));
    const { msg } = await peer.rec.next('messageReceive');
    assert.equal(msg.data, 'after pings');
    await delay(50);
    // 1000 pongs: 0x8a 0x01 'p' each.
    let pongs = 0;
    for (let i = 0; i + 2 < peer.socket.frames.length; i += 3) if (peer.socket.frames[i] === 0x8a) pongs++;
    assert.equal(pongs, 1000);
    peer.socket.destroy();
    await peer.server.stop();
  });
});
