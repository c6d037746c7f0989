// Faults survived, measured (issue #17 item 5; shared.mjs): a peer process killed (SIGKILL)
// in the middle of a stream of numbered messages, our client or our server on the other end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST } from '../helpers/servers.mjs';
import { spawnChild } from '../helpers/child.mjs';
import { ourClient, ourServer, numbered, assertDelivered, assertAbnormal, assertNothingAfterClose, row, stopChild, REQUIRE_WS } from './shared.mjs';

describe('faults survived, measured (issue #17 item 5)', () => {
  describe('the other faults, one at a time', { concurrency: 1 }, () => {
    describe('a peer process killed (SIGKILL) mid-stream', () => {
      for (const peer of ['our server', 'ws server']) {
        it(`our client ← ${peer} (child) streaming numbered messages: error + close 1006, a gapless prefix`, async (t) => {
          const child = spawnChild(peer === 'ws server' ? WS_PUSHER_CHILD : OUR_PUSHER_CHILD);
          t.after(() => stopChild(child));
          const { port } = await child.waitFor('listening');
          const c = await ourClient(`ws://${HOST}:${port}`);
          const { got, killedAt } = await killMidStream(child, c, 'client', 'a gapless prefix of what the server sent');
          const exit = await child.exited;
          assert.equal(exit.signal, 'SIGKILL');
          row(t, {
            fault: 'server process killed (SIGKILL) mid-stream',
            pair: `our client ← ${peer} (child)`,
            role: 'our client',
            sent: { down: `≥ ${got.length} (stream)` },
            delivered: { down: got.length },
            events: { client: c.events() },
            detectionMs: c.endedAt() - killedAt,
          });
        });
      }

      it('our server ← ws client (child) streaming numbered messages, the client killed: error + close 1006, a gapless prefix', async (t) => {
        const s = await ourServer({ echo: false });
        t.after(() => s.cleanup());
        const child = spawnChild(WS_PUSHER_CLIENT_CHILD, { args: [s.url] });
        t.after(() => stopChild(child));
        const { got, killedAt } = await killMidStream(child, s, 'server', 'a gapless prefix of what the client sent');
        row(t, {
          fault: 'client process killed (SIGKILL) mid-stream',
          pair: 'ws client (child) → our server',
          role: 'our server (peer: ws client)',
          sent: { up: `≥ ${got.length} (stream)` },
          delivered: { up: got.length },
          events: { server: s.events() },
          detectionMs: s.endedAt() - killedAt,
        });
      });
    });
  });
});

/**
 * Once `end` has received 30 of the streamed messages, kills `child` (SIGKILL) and waits for
 * `end` to see an abnormal end (`side` names it) having got a gapless prefix k#1…k#n, and
 * nothing after. Returns what it got and the time of the kill.
 */
async function killMidStream(child, end, side, what) {
  await end.waitReceived(30);
  child.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await end.waitEnded();
  assertAbnormal(end, side);
  const got = end.received();
  assertDelivered(got, numbered('k', got.length), what);
  await assertNothingAfterClose([end]);
  return { got, killedAt };
}

// ---------------------------------------------------------------------------------------
// Child scripts (helpers/child.mjs: PRELUDE gives them `webSocket` and `emit`).

/** Our server sending k#1, k#2, … to its first client every 2 ms. */
const OUR_PUSHER_CHILD = `
const server = webSocket.createWebSocketServer();
server.on('connect', (conn) => {
  let i = 0;
  setInterval(() => { i += 1; server.send('k#' + i, conn).catch(() => {}); }, 2);
});
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
emit('listening', { port: server.address().port });
`;

/** A `ws` server sending k#1, k#2, … to its first client every 2 ms. */
const WS_PUSHER_CHILD = `${REQUIRE_WS}
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => emit('listening', { port: wss.address().port }));
wss.on('connection', (socket) => {
  let i = 0;
  setInterval(() => { i += 1; socket.send('k#' + i); }, 2);
});
`;

/** A `ws` client sending k#1, k#2, … every 2 ms to the URL in argv[2]. */
const WS_PUSHER_CLIENT_CHILD = `${REQUIRE_WS}
const ws = new WebSocket(process.argv[2]);
ws.on('open', () => {
  let i = 0;
  setInterval(() => { i += 1; ws.send('k#' + i); }, 2);
});
`;
