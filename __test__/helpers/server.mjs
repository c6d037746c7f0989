// Helpers for the server tests (spec section (e)): the server's error codes, a started
// server with an event recorder, and npm `ws` clients that can connect from any
// loopback source address (127.0.0.x), so the per-IP limits of S9 can be exercised.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { webSocket } from './client.mjs';
import { withTimeout, DEFAULT_WAIT_MS, encodeFrame } from './servers.mjs';

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
  ws.closedWith = undefined;
  ws.on('message', (data, isBinary) => ws.received.push(isBinary ? data : data.toString()));
  ws.on('close', (code, reason) => {
    ws.closedWith = { code, reason: reason.toString() };
  });
  ws.on('error', () => {});
  await withTimeout(once(ws, 'open'), DEFAULT_WAIT_MS, 'ws open');
  return ws;
}

/** Resolves with `{code, reason}` when the `ws` client's connection has closed. */
export async function wsClosed(ws, timeout = DEFAULT_WAIT_MS) {
  if (ws.closedWith === undefined) await withTimeout(once(ws, 'close'), timeout, 'ws close');
  return ws.closedWith;
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

/** A masked client frame (servers.mjs' encodeFrame writes unmasked server frames). */
export function maskedFrame(opcode, payload = Buffer.alloc(0), fin = true) {
  const head = encodeFrame(opcode, payload, fin);
  const header = Buffer.from(head.subarray(0, head.length - payload.length));
  header[1] |= 0x80;
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload).map((b, i) => b ^ mask[i & 3]);
  return Buffer.concat([header, mask, body]);
}

/**
 * A raw TCP client past the upgrade; `socket.frames` collects the server's bytes after
 * the 101 head (no parsing), `socket.ended` resolves when the connection closes.
 */
export async function rawUpgraded(port, { host = '127.0.0.1' } = {}) {
  const socket = net.connect(port, host);
  socket.on('error', () => {});
  socket.ended = new Promise((r) => socket.once('close', r));
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  let head = Buffer.alloc(0);
  socket.frames = Buffer.alloc(0);
  await new Promise((resolve) => {
    const onData = (d) => {
      if (head === null) {
        socket.frames = Buffer.concat([socket.frames, d]);
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) {
        assert.match(head.toString('latin1', 0, end), /^HTTP\/1.1 101 /);
        socket.frames = head.subarray(end + 4);
        head = null;
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return socket;
}

/** The status code of the first close frame among `bytes` (unmasked server frames). */
export function firstCloseCode(bytes) {
  let i = 0;
  while (i + 2 <= bytes.length) {
    const opcode = bytes[i] & 0x0f;
    let len = bytes[i + 1] & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    if (opcode === 8) return len >= 2 ? bytes.readUInt16BE(at) : null;
    i = at + len;
  }
  return undefined;
}
