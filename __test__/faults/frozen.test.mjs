// Faults survived, measured (issue #17 item 5; shared.mjs): a peer process frozen (SIGSTOP)
// and resumed (SIGCONT), within and past our heartbeat, in both directions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil, withTimeout, delay, HOST } from '../helpers/servers.mjs';
import { spawnChild, describe as describeChild } from '../helpers/child.mjs';
import {
  ourClient, ourServer, numbered, assertDelivered, assertAbnormal, assertClean, assertNothingAfterClose, row, stopChild,
  MIN_HEARTBEAT, DETECTION_SLACK_MS, REQUIRE_WS,
} from './shared.mjs';

const POSIX_SIGNALS = process.platform !== 'win32';
const NO_SIGNALS = !POSIX_SIGNALS && 'SIGSTOP/SIGCONT do not exist on Windows';

describe('faults survived, measured (issue #17 item 5)', () => {
  describe('the other faults, one at a time', { concurrency: 1 }, () => {
    describe('a peer process frozen (SIGSTOP), then resumed (SIGCONT)', () => {
      // pingInterval 2 / pongTimeout 2: the freeze (1500 → 2700 ms after open) covers the
      // Ping due at 2000 ms, whose Pong deadline (4000 ms) is 1.3 s after the resume.
      const HEARTBEAT = { pingInterval: 2, pongTimeout: 2 };
      const FREEZE_AT_MS = 1500;
      const FREEZE_MS = 1200;
      const N = 10;

      for (const peer of ['ws server', 'our server']) {
        it(`our client → ${peer} (child), frozen ${FREEZE_MS} ms across a Ping: survives, every message arrives`, { skip: NO_SIGNALS }, async (t) => {
          const child = spawnChild(peer === 'ws server' ? WS_ECHO_CHILD : OUR_ECHO_CHILD);
          t.after(() => stopChild(child));
          const { port } = await child.waitFor('listening');
          const c = await ourClient(`ws://${HOST}:${port}`, HEARTBEAT);
          const openedAt = Date.now();
          await delay(FREEZE_AT_MS);
          child.proc.kill('SIGSTOP');
          const sent = numbered('c', N);
          for (const m of sent) assert.equal(await c.send(m), true);
          await delay(openedAt + FREEZE_AT_MS + FREEZE_MS - Date.now());
          assert.deepEqual(c.events(), [], 'nothing ends while the peer is frozen within the heartbeat bound');
          child.proc.kill('SIGCONT');
          await c.waitReceived(N);
          assertDelivered(c.received(), sent, 'echoes after the resume');
          await waitUntil(() => child.events.filter((e) => e.ev === 'message').length >= N, { label: 'child got every message' });
          assertDelivered(child.events.filter((e) => e.ev === 'message').map((e) => e.data), sent, 'client → frozen server');
          // The Ping was sent during the freeze, behind the messages: it is read after them.
          if (peer === 'ws server') await waitUntil(() => child.events.some((e) => e.ev === 'ping'), { label: 'a Ping reached the peer' });
          await c.close(1000, 'after the freeze');
          await c.waitEnded();
          assertClean(c, 1000, 'after the freeze', 'client');
          const closed = await child.waitFor('close');
          assert.equal(closed.code, 1000);
          assert.deepEqual(child.events.filter((e) => e.ev === 'error'), [], 'the server saw no error');
          await assertNothingAfterClose([c]);
          const exit = await withTimeout(child.exited, 5000, 'the child exits by itself once its server is closed');
          assert.equal(exit.code, 0, describeChild(child));
          row(t, {
            fault: `peer frozen ${FREEZE_MS} ms (SIGSTOP/SIGCONT) within heartbeat 2 s / 2 s`,
            pair: `our client → ${peer} (child)`,
            role: 'our client',
            sent: { up: N, down: N },
            delivered: { up: child.events.filter((e) => e.ev === 'message').length, down: c.received().length },
            events: { client: c.events(), server: [`close ${closed.code}`] },
            detectionMs: 'none: survived',
          });
        });
      }

      it('our client → our server (child), frozen past the heartbeat: error + close 1006 within 2 s; the server then sees the end', { skip: NO_SIGNALS }, async (t) => {
        const child = spawnChild(OUR_ECHO_CHILD);
        t.after(() => stopChild(child));
        const { port } = await child.waitFor('listening');
        const c = await ourClient(`ws://${HOST}:${port}`, MIN_HEARTBEAT);
        const sent = numbered('c', 3);
        for (const m of sent) await c.send(m);
        await c.waitReceived(sent.length);
        child.proc.kill('SIGSTOP');
        const frozenAt = Date.now();
        await c.waitEnded(6000);
        const detectionMs = c.endedAt() - frozenAt;
        assertAbnormal(c, 'client');
        const bound = (MIN_HEARTBEAT.pingInterval + MIN_HEARTBEAT.pongTimeout) * 1000;
        assert.ok(detectionMs <= bound + DETECTION_SLACK_MS, `detected after ${detectionMs} ms (bound ${bound} ms + slack)`);
        child.proc.kill('SIGCONT');
        const closed = await child.waitFor('close');
        assert.deepEqual(
          child.events.filter((e) => e.ev === 'error' || e.ev === 'close').map((e) => e.ev),
          ['error', 'close'],
          'S20: the server reports the abnormal end as error, then close',
        );
        assert.equal(closed.code, 1006);
        assertDelivered(child.events.filter((e) => e.ev === 'message').map((e) => e.data), sent, 'client → server');
        await assertNothingAfterClose([c]);
        const exit = await withTimeout(child.exited, 5000, 'the child exits by itself once its server is stopped');
        assert.equal(exit.code, 0, describeChild(child));
        row(t, {
          fault: 'peer frozen (SIGSTOP) past heartbeat 1 s / 1 s',
          pair: 'our client → our server (child)',
          role: 'our client + our server',
          sent: { up: sent.length, down: sent.length },
          delivered: { up: child.events.filter((e) => e.ev === 'message').length, down: c.received().length },
          events: { client: c.events(), server: ['error 200', `close ${closed.code}`] },
          detectionMs,
        });
      });

      it(`ws client (child) → our server, the client frozen ${FREEZE_MS} ms while the server sends: all arrive after SIGCONT`, { skip: NO_SIGNALS }, async (t) => {
        const s = await ourServer({ echo: false });
        t.after(() => s.cleanup());
        const child = spawnChild(WS_RECEIVER_CHILD, { args: [s.url, String(N)] });
        t.after(() => stopChild(child));
        await child.waitFor('open');
        await s.waitConnected();
        child.proc.kill('SIGSTOP');
        const sent = numbered('s', N);
        for (const m of sent) assert.equal(await s.send(m), true);
        await delay(FREEZE_MS);
        assert.deepEqual(s.events(), [], 'our server has no heartbeat (S16): nothing happens while the peer is frozen');
        child.proc.kill('SIGCONT');
        await s.waitEnded();
        // The child's report travels on its stdout, which may lag behind the TCP close.
        const closed = await child.waitFor('close');
        assert.equal(closed.code, 4000, 'the ws client got its close answered');
        const got = child.events.filter((e) => e.ev === 'message').map((e) => e.data);
        assertDelivered(got, sent, 'server → frozen client');
        assertClean(s, 4000, 'got all', 'server');
        await assertNothingAfterClose([s]);
        row(t, {
          fault: `peer frozen ${FREEZE_MS} ms (SIGSTOP/SIGCONT)`,
          pair: 'ws client (child) → our server',
          role: 'our server (peer: ws client)',
          sent: { down: N },
          delivered: { down: got.length },
          events: { server: s.events() },
          detectionMs: 'none: survived',
        });
      });
    });
  });
});

// ---------------------------------------------------------------------------------------
// Child scripts (helpers/child.mjs: PRELUDE gives them `webSocket` and `emit`).

/** A `ws` echo server; reports each message, Ping and the close; stops after one connection. */
const WS_ECHO_CHILD = `${REQUIRE_WS}
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => emit('listening', { port: wss.address().port }));
wss.on('connection', (socket) => {
  socket.on('ping', () => emit('ping'));
  socket.on('message', (data, isBinary) => {
    emit('message', { data: data.toString() });
    socket.send(data, { binary: isBinary });
  });
  socket.on('error', () => {});
  socket.on('close', (code, reason) => {
    emit('close', { code, reason: reason.toString() });
    wss.close();
  });
});
`;

/** Our server, echoing; reports each message, error and close; stops after one connection. */
const OUR_ECHO_CHILD = `
const server = webSocket.createWebSocketServer();
server.on('messageReceive', ({ data, clientConnection }) => {
  emit('message', { data });
  server.send(data, clientConnection).catch(() => {});
});
server.on('error', (err) => emit('error', { code: err.code }));
server.on('close', (conn, result) => {
  emit('close', { code: result.code, reason: result.reason });
  server.stop();
});
await server.start({ serverIP: '127.0.0.1', serverPort: 0 });
emit('listening', { port: server.address().port });
`;

/** A `ws` client that reports the messages it gets and closes 4000 after argv[3] of them. */
const WS_RECEIVER_CHILD = `${REQUIRE_WS}
const ws = new WebSocket(process.argv[2]);
const want = Number(process.argv[3]);
let n = 0;
ws.on('open', () => emit('open'));
ws.on('message', (data) => {
  emit('message', { data: data.toString() });
  if (++n === want) ws.close(4000, 'got all');
});
ws.on('close', (code) => emit('close', { code }));
`;
