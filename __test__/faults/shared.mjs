// Faults survived, measured (issue #17 item 5): what the files of this folder share. A
// userspace fault proxy (helpers/fault-proxy.mjs) sits between our client and our server, and
// between `ws` peers and ours in both directions; peers in child processes are frozen
// (SIGSTOP/SIGCONT) or killed (SIGKILL); and a connect goes to an address that never answers.
// For every fault:
// - every message a peer received was sent once, in order (messages are numbered), and
//   nothing arrives after the close;
// - every connection ends with the documented events: client R61/R62/R64/R66 (and R49 for
//   a close this side started, also into a black hole: the 5 s bound), server S18/S20;
// - the time to detection is measured, and each fault prints one table row as a test
//   diagnostic: `fault-row {json}`.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import webSocket from '../../index.js';
import { startFaultProxy } from '../helpers/fault-proxy.mjs';
import { startEchoServer, waitUntil, delay, HOST } from '../helpers/servers.mjs';
import { E, assertBusinessError } from '../helpers/assertions.mjs';
import { openSession, endSession } from '../helpers/client.mjs';
import { SE, localConfig, wsClient, wsClosed } from '../helpers/server.mjs';

const LINK_DOWN = 'The link is down';
/** Window in which a message or event that must not come would have had time to arrive. */
export const QUIET_MS = 300;
/** The spec's smallest heartbeat (R35: whole seconds, 0 turns it off): Ping after 1 s, Pong due 1 s later. */
export const MIN_HEARTBEAT = { pingInterval: 1, pongTimeout: 1 };
/** Scheduling slack on top of pingInterval + pongTimeout for the detection bound. */
export const DETECTION_SLACK_MS = 750;

const ROOT_PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));
/** Lines a child script needs to load the `ws` package of this repository. */
export const REQUIRE_WS = `
import { createRequire } from 'node:module';
const { WebSocket, WebSocketServer } = createRequire(${JSON.stringify(ROOT_PACKAGE_JSON)})('ws');
`;
createRequire(ROOT_PACKAGE_JSON).resolve('ws'); // fail early if the devDependency is missing

/** Prints one row of the fault table. */
export function row(t, fields) {
  t.diagnostic(`fault-row ${JSON.stringify(fields)}`);
}

/** `count` numbered text messages `tag#1…`, each padded to `size` bytes when given. */
export function numbered(tag, count, size = 0) {
  return Array.from({ length: count }, (_, i) => {
    const head = `${tag}#${i + 1}`;
    return size > head.length ? `${head}:${'x'.repeat(size - head.length - 1)}` : head;
  });
}

/** What a test compares a received message as: the text, or `bin:<length>`. */
function label(data) {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return `bin:${data.byteLength}`;
  return `bin:${data.length}`;
}

// ---------------------------------------------------------------------------------------
// The two ends of a connection, each of the two kinds, behind one interface:
//   send(data) → Promise; received() → labels in arrival order; close(code, reason);
//   waitReceived(n); waitEnded(); ending() → what the end saw; events() → short text;
//   snapshot() → everything observable, to prove that nothing comes after the close.

/** Adds a `at` timestamp to every event a client recorder logs from now on. */
function stampEvents(ws, rec) {
  for (const [type, fn] of Object.entries(rec.listeners)) {
    ws.on(type, (...args) => {
      fn(...args);
      rec.log[rec.log.length - 1].at = Date.now();
    });
  }
}

/** Our client, opened (R24) on `url`. */
export async function ourClient(url, options) {
  const { ws, rec } = await openSession(url, options);
  stampEvents(ws, rec);
  const kinds = () => rec.types().filter((x) => x !== 'dataEnd');
  const end = {
    kind: 'our client',
    ws,
    rec,
    send: (data) => ws.send(data),
    received: () => rec.of('message').map((e) => label(e.value)),
    close: (code, reason) => ws.close({ code, reason }),
    waitReceived: (n, timeout = 5000) => rec.waitFor('message', { count: n, timeout }),
    waitEnded: (timeout = 8000) => rec.waitFor('close', { timeout }),
    /** The time of the first error or close event, if any. */
    endedAt: () => rec.log.find((e) => e.type === 'error' || e.type === 'close')?.at,
    ending: () => ({ kinds: kinds(), error: rec.of('error')[0]?.value, close: rec.of('close')[0]?.value }),
    events: () => kinds().filter((k) => k === 'error' || k === 'close').map((k) => (k === 'close' ? `close ${rec.of('close')[0].value.code}` : 'error 200')),
    snapshot: () => kinds().join(),
    cleanup: () => endSession({ ws, rec }),
  };
  return end;
}

/** A `ws` client, opened on `url`. */
async function wsPeerClient(url) {
  const ws = await wsClient(url);
  return {
    kind: 'ws client',
    ws,
    send: (data) => new Promise((resolve, reject) => ws.send(data, (err) => (err ? reject(err) : resolve(true)))),
    received: () => ws.received.map(label),
    close: (code, reason) => ws.close(code, reason),
    waitReceived: (n, timeout = 5000) => waitUntil(() => ws.received.length >= n, { timeout, label: `ws client got ${n} message(s)` }),
    waitEnded: (timeout = 8000) => wsClosed(ws, timeout),
    ending: () => ({ close: ws.closedWith }),
    events: () => (ws.closedWith ? [`close ${ws.closedWith.code}`] : []),
    snapshot: () => JSON.stringify([ws.received.length, ws.closedWith]),
    cleanup: async () => {
      ws.terminate();
    },
  };
}

/**
 * Our server on 127.0.0.1, echoing every message when `echo`. Records every event with a
 * timestamp (`messageReceive` too, so the order of messages and the close is visible).
 */
export async function ourServer({ echo = true } = {}) {
  const server = webSocket.createWebSocketServer();
  const events = [];
  const received = [];
  const push = (e) => events.push({ ...e, at: Date.now() });
  server.on('connect', (conn) => push({ type: 'connect', conn }));
  server.on('messageReceive', ({ data, clientConnection }) => {
    received.push(label(data));
    push({ type: 'messageReceive' });
    if (echo) server.send(data, clientConnection).catch(() => {});
  });
  server.on('error', (err) => push({ type: 'error', err }));
  server.on('close', (conn, result) => push({ type: 'close', conn, result: { ...result }, listed: server.listAllConnections() }));
  assert.equal(await server.start(localConfig()), true);
  const { port } = server.address();
  const kinds = () => events.map((e) => e.type).filter((x) => x !== 'messageReceive');
  const conn = () => events.find((e) => e.type === 'connect')?.conn;
  return {
    kind: 'our server',
    server,
    port,
    url: `ws://${HOST}:${port}`,
    events: () => events.filter((e) => e.type === 'error' || e.type === 'close').map((e) => (e.type === 'close' ? `close ${e.result.code}` : 'error 200')),
    received: () => [...received],
    waitConnected: () => waitUntil(() => conn() !== undefined, { label: 'server connect event' }),
    send: (data) => server.send(data, conn()),
    close: (code, reason) => server.close(conn(), { code, reason }),
    waitReceived: (n, timeout = 5000) => waitUntil(() => received.length >= n, { timeout, label: `server got ${n} message(s)` }),
    waitEnded: (timeout = 8000) => waitUntil(() => kinds().includes('close'), { timeout, label: `server close event; got [${kinds()}]` }),
    endedAt: () => events.find((e) => e.type === 'error' || e.type === 'close')?.at,
    ending: () => ({
      kinds: kinds(),
      error: events.find((e) => e.type === 'error')?.err,
      close: events.find((e) => e.type === 'close')?.result,
      listed: events.find((e) => e.type === 'close')?.listed,
    }),
    snapshot: () => JSON.stringify([events.map((e) => e.type), received.length]),
    cleanup: async () => {
      if (server.address() !== null) await server.stop();
    },
  };
}

/** A `ws` echo server (helpers/servers.mjs). */
async function wsPeerServer() {
  const state = await startEchoServer();
  const socket = () => [...state.sockets][0];
  return {
    kind: 'ws server',
    state,
    port: state.port,
    url: state.url,
    events: () => state.closes.map((c) => `close ${c.code}`),
    received: () => state.received.map((r) => (r.isBinary ? `bin:${r.data.length}` : r.data.toString())),
    waitConnected: () => waitUntil(() => state.sockets.size > 0, { label: 'ws server connection' }),
    send: (data) => new Promise((resolve, reject) => socket().send(data, (err) => (err ? reject(err) : resolve(true)))),
    close: (code, reason) => socket().close(code, reason),
    waitReceived: (n, timeout = 5000) => state.waitForReceived(n, timeout),
    waitEnded: (timeout = 8000) => state.waitForCloses(1, timeout),
    ending: () => ({ close: state.closes[0] }),
    snapshot: () => JSON.stringify([state.received.length, state.closes]),
    cleanup: () => state.close(),
  };
}

/** The three ways a proxy is put between two ends. */
export const PAIRS = [
  { name: 'our client → proxy → our server', client: ourClient, server: ourServer, role: 'our client + our server' },
  { name: 'ws client → proxy → our server', client: wsPeerClient, server: ourServer, role: 'our server (peer: ws client)' },
  { name: 'our client → proxy → ws server', client: ourClient, server: wsPeerServer, role: 'our client (peer: ws server)' },
];

/** Starts a pair with the proxy between; every part is closed by `close()`. */
export async function startPair(pair, faults = {}, clientOptions) {
  const server = await pair.server();
  const proxy = await startFaultProxy({ port: server.port }, faults);
  const started = Date.now();
  let client;
  try {
    client = await pair.client(proxy.url, clientOptions);
  } catch (e) {
    await proxy.close();
    await server.cleanup();
    throw e;
  }
  const openMs = Date.now() - started;
  await server.waitConnected();
  return {
    server,
    client,
    proxy,
    openMs,
    async close() {
      await client.cleanup();
      await proxy.close();
      await server.cleanup();
    },
  };
}

// ---------------------------------------------------------------------------------------
// Expected endings.

/** R61/R62/R64 (client) or S18/S20 (server): `error` then `close` 1006 "The link is down". */
export function assertAbnormal(end, what) {
  const got = end.ending();
  if (end.kind === 'our client') {
    assert.deepEqual(got.kinds.filter((k) => k === 'error' || k === 'close'), ['error', 'close'], `${what}: ${got.kinds}`);
    assert.deepEqual(got.kinds.slice(-2), ['error', 'close'], `${what}: the error and close events come last`);
    assertBusinessError(got.error, E.EVENT, '0');
    assert.deepEqual(got.close, { code: 1006, reason: LINK_DOWN }, what);
  } else if (end.kind === 'our server') {
    assert.deepEqual(got.kinds, ['connect', 'error', 'close'], what);
    assertBusinessError(got.error, SE.EVENT);
    assert.deepEqual(got.close, { code: 1006, reason: LINK_DOWN, closeReason: LINK_DOWN }, what);
    assert.deepEqual(got.listed, [], `${what}: S19, no longer listed at its close event`);
  } else {
    assert.equal(got.close?.code, 1006, `${what}: the ${end.kind} saw an abnormal end`);
  }
}

/** A clean close with `code`/`reason`: R49/R61 (client) or S18 (server), and no `error`. */
export function assertClean(end, code, reason, what) {
  const got = end.ending();
  if (end.kind === 'our client') {
    assert.ok(!got.kinds.includes('error'), `${what}: a clean close has no error event (R62); got ${got.kinds}`);
    assert.equal(got.kinds.at(-1), 'close', what);
    assert.deepEqual(got.close, { code, reason }, what);
  } else if (end.kind === 'our server') {
    assert.deepEqual(got.kinds, ['connect', 'close'], `${what}: no error event (S20)`);
    assert.deepEqual(got.close, { code, reason, closeReason: reason }, what);
    assert.deepEqual(got.listed, [], `${what}: S19`);
  } else {
    assert.deepEqual(got.close, { code, reason }, `${what}: what the ${end.kind} saw`);
  }
}

/** Nothing is received or reported by any end during QUIET_MS after the ends were seen. */
export async function assertNothingAfterClose(ends) {
  const before = ends.map((e) => e.snapshot());
  await delay(QUIET_MS);
  assert.deepEqual(ends.map((e) => e.snapshot()), before, 'nothing arrives after the close');
}

/** `received` is exactly `sent`: each message once, in order. */
export function assertDelivered(received, sent, what) {
  assert.deepEqual(received, sent, `${what}: every message once, in order`);
}

/** Kills a child (if still running) and waits for it. */
export async function stopChild(child) {
  if (child.running()) {
    child.proc.kill('SIGKILL');
  }
  await child.exited;
}
