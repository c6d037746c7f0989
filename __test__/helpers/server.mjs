// Helpers for the server tests (spec section (e)): the server's error codes, a started
// server with an event recorder, and npm `ws` clients that can connect from any
// loopback source address (127.0.0.x), so the per-IP limits of S9 can be exercised.
import { once } from 'node:events';
import WebSocket from 'ws';
import { webSocket } from './client.mjs';
import { withTimeout, DEFAULT_WAIT_MS } from './servers.mjs';

/** `{code, message}` pairs of table (d) that the server produces. */
export const SE = Object.freeze({
  PARAM: { code: 401, message: 'Parameter error' },
  SEND_STATE: { code: -1, message: 'Websocket Unknown Other Error' },
  EVENT: { code: 200, message: 'Websocket connect failed' },
  CERT: { code: 2302002, message: 'Websocket certificate file does not exist' },
  NIC: { code: 2302004, message: "Can't listen to the given NIC" },
  PORT: { code: 2302005, message: "Can't listen to the given Port" },
  NO_CONNECTION: { code: 2302006, message: 'websocket connection does not exist' },
  OCCUPIED: { code: 2302007, message: 'Websocket port already occupied' },
  OTHER: { code: 2302999, message: 'Websocket Unknown Other Error' },
});

/** A config for 127.0.0.1 on an ephemeral port, with the maximum limits. */
export function localConfig(extra = {}) {
  return {
    serverIP: '127.0.0.1',
    serverPort: 0,
    maxConcurrentClientsNumber: 10,
    maxConnectionsForOneClient: 10,
    ...extra,
  };
}

/**
 * Records every server event; `next(type)` waits for the next one not yet taken.
 * Listeners are (re)registered with `on`, one per type (S2).
 */
export function recordServer(server) {
  const events = [];
  let taken = 0;
  const waiters = [];
  const push = (e) => {
    events.push(e);
    for (const w of waiters.splice(0)) w();
  };
  server.on('connect', (conn) => push({ type: 'connect', conn }));
  server.on('messageReceive', (msg) => push({ type: 'messageReceive', msg }));
  server.on('close', (conn, result) => push({ type: 'close', conn, result, listed: server.listAllConnections() }));
  server.on('error', (err) => push({ type: 'error', err }));
  return {
    events,
    /** Resolves with the next recorded event of `type` (events of other types are kept). */
    async next(type, timeout = DEFAULT_WAIT_MS) {
      const find = () => events.findIndex((e, i) => i >= taken && e.type === type);
      const deadline = Date.now() + timeout;
      for (;;) {
        const i = find();
        if (i >= 0) {
          const [e] = events.splice(i, 1);
          return e;
        }
        if (Date.now() > deadline) throw new Error(`no '${type}' event within ${timeout} ms; got ${JSON.stringify(events.map((x) => x.type))}`);
        await withTimeout(new Promise((r) => waiters.push(r)), Math.max(1, deadline - Date.now()), type).catch(() => {});
      }
    },
    of(type) {
      return events.filter((e) => e.type === type);
    },
  };
}

/** Starts a server with `config` (defaults: localConfig()) and its recorder. */
export async function startServer(config = localConfig()) {
  const server = webSocket.createWebSocketServer();
  const rec = recordServer(server);
  const ok = await server.start(config);
  if (ok !== true) throw new Error(`start resolved ${ok}`);
  const { port } = server.address();
  return {
    server,
    rec,
    port,
    url: `ws://127.0.0.1:${port}`,
    async stop() {
      if (server.address() !== null) await server.stop();
    },
  };
}

/** An open npm `ws` client; `localAddress` picks the source IP (S9 tests). */
export async function wsClient(url, { localAddress, protocols, ...opts } = {}) {
  const ws = new WebSocket(url, protocols, { localAddress, ...opts });
  ws.received = [];
  ws.on('message', (data, isBinary) => ws.received.push(isBinary ? data : data.toString()));
  ws.on('error', () => {});
  await withTimeout(once(ws, 'open'), DEFAULT_WAIT_MS, 'ws open');
  return ws;
}

/** Resolves with `{code, reason}` when the `ws` client's connection has closed. */
export async function wsClosed(ws, timeout = DEFAULT_WAIT_MS) {
  if (ws.readyState === WebSocket.CLOSED) return ws.closedWith;
  const [code, reason] = await withTimeout(once(ws, 'close'), timeout, 'ws close');
  return { code, reason: reason.toString() };
}

/** Waits until the `ws` client has received `n` messages. */
export async function wsReceived(ws, n, timeout = DEFAULT_WAIT_MS) {
  const deadline = Date.now() + timeout;
  while (ws.received.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${ws.received.length} of ${n} messages`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return ws.received;
}
