// Heartbeat (R35, R65–R68): Pings at `pingInterval`, the link dropped when a Pong does not
// come within `pongTimeout`, `0` disabling it. Mirrors src/engine/heartbeat.rs and
// src/runtime/heartbeat.rs. Real peers: the `ws` server (answers Pings like any peer) and
// a raw server that never answers them.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoServer, startRawWsServer, delay } from './helpers/servers.mjs';
import { openSession, endSession } from './helpers/client.mjs';
import { runChild, describe as describeChild } from './helpers/child.mjs';

const OP_PING = 0x9;

describe('heartbeat', () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  /** A `ws` echo server that counts the Pings each connection receives. */
  async function pingCountingServer() {
    const pings = [];
    const server = await startEchoServer({
      onConnection(socket) {
        socket.on('ping', () => pings.push(Date.now()));
        socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
      },
    });
    servers.push(server);
    return { server, pings };
  }

  it('R65/R67: Pings every pingInterval while Pongs come back; the link stays up', async () => {
    const { server, pings } = await pingCountingServer();
    const t = await openSession(server.url, { pingInterval: 1, pongTimeout: 1 });
    try {
      await delay(3500);
      assert.ok(pings.length >= 2 && pings.length <= 4, `expected ~3 pings in 3.5 s, got ${pings.length}`);
      assert.deepEqual(t.rec.of('error'), [], 'answered pings never end the link');
      assert.deepEqual(t.rec.of('close'), []);
      // Still usable.
      t.ws.send('still here');
      const msg = await t.rec.waitFor('message');
      assert.equal(msg.value, 'still here');
    } finally {
      await endSession(t);
    }
  });

  it('R68: pingInterval 0 disables the heartbeat', async () => {
    const { server, pings } = await pingCountingServer();
    const t = await openSession(server.url, { pingInterval: 0 });
    try {
      await delay(1500);
      assert.equal(pings.length, 0);
    } finally {
      await endSession(t);
    }
  });

  it('R67 default: no Ping in the first seconds (30 s interval)', async () => {
    const { server, pings } = await pingCountingServer();
    const t = await openSession(server.url);
    try {
      await delay(1500);
      assert.equal(pings.length, 0);
    } finally {
      await endSession(t);
    }
  });

  it('R35: a pingInterval above 30000 falls back to 30 s (no Ping soon)', async () => {
    const { server, pings } = await pingCountingServer();
    const t = await openSession(server.url, { pingInterval: 30001, pongTimeout: 1 });
    try {
      await delay(1500);
      assert.equal(pings.length, 0);
    } finally {
      await endSession(t);
    }
  });

  /** A raw peer that completes the handshake and then never answers anything. */
  async function silentPeer() {
    const server = await startRawWsServer();
    servers.push(server);
    return server;
  }

  it('R66: an unanswered Ping ends the link: error (200, "0") then close 1006', async () => {
    const peer = await silentPeer();
    const t = await openSession(peer.url, { pingInterval: 1, pongTimeout: 1 });
    try {
      const opened = Date.now();
      const err = await t.rec.waitFor('error', { timeout: 6000 });
      const close = await t.rec.waitFor('close', { timeout: 6000 });
      assert.equal(err.value.code, 200);
      assert.equal(err.value.data, '0');
      assert.deepEqual(close.value, { code: 1006, reason: 'The link is down' });
      assert.deepEqual(t.rec.types().slice(-2), ['error', 'close']);
      // Ping at ~1 s, deadline ~1 s later: not before the Ping was even due.
      assert.ok(Date.now() - opened >= 1500, 'the link was dropped before the pong deadline');
      const conn = peer.connections[0];
      assert.ok(conn.frames.some((f) => f.opcode === OP_PING), 'a Ping frame was sent');
    } finally {
      await endSession(t);
    }
  });

  it('R66 [NODE]: pongTimeout 0 with a non-zero pingInterval waits pingInterval for the Pong', async () => {
    const peer = await silentPeer();
    const t = await openSession(peer.url, { pingInterval: 1, pongTimeout: 0 });
    try {
      const opened = Date.now();
      await t.rec.waitFor('close', { timeout: 6000 });
      // OH would drop the link when the Ping is due (~1 s); we wait one more interval.
      assert.ok(Date.now() - opened >= 1500, `closed after ${Date.now() - opened} ms`);
      assert.equal(t.rec.of('close')[0].value.code, 1006);
    } finally {
      await endSession(t);
    }
  });

  it('R66: a JS thread busy for longer than pongTimeout does not fail a link whose Pongs came in time', async () => {
    // The client runs in a child whose JS thread blocks 1.5 s at a time, each block right
    // after the loop turn that sent a Ping: the Pong arrives at once but is read only after
    // the deadline (1 s) has passed. It came in time, so the link stays up.
    const { server, pings } = await pingCountingServer();
    const r = await runChild(
      `
const ws = webSocket.createWebSocket();
ws.on('error', (err) => emit('error', { code: err.code }));
ws.on('close', (err, value) => emit('close', { value }));
ws.on('open', () => {
  let rounds = 0;
  const block = () => {
    const end = Date.now() + 1500;
    while (Date.now() < end);
    if (++rounds < 5) setImmediate(block);
    else { emit('done'); ws.close(); }
  };
  setImmediate(block);
});
ws.connect(process.argv[2], { pingInterval: 1, pongTimeout: 1 });
`,
      { args: [server.url], timeout: 30_000 },
    );
    assert.equal(r.code, 0, describeChild(r));
    assert.deepEqual(r.events.map((e) => e.ev), ['done', 'close'], describeChild(r));
    assert.deepEqual(r.events[1].value, { code: 1000, reason: 'CLOSE_NORMAL' });
    assert.ok(pings.length >= 2, `expected Pings while busy, got ${pings.length}`);
  });
});
