// Real peers for the tests: every server binds 127.0.0.1 on an ephemeral port.
import { WebSocketServer } from 'ws';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { makeTestPki, pem } from './certs.mjs';

export const HOST = '127.0.0.1';
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2). */
export function acceptKey(key) {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** Wires the recording / echo behaviour shared by the plain and the TLS echo servers. */
function wireEchoServer(wss, state, opts) {
  if (opts.onHeaders) wss.on('headers', (headers, req) => opts.onHeaders(headers, req));
  wss.on('connection', (socket, req) => {
    state.sockets.add(socket);
    const record = { headers: req.headers, url: req.url };
    if (req.socket.encrypted) {
      record.authorized = req.socket.authorized;
      record.peerCertificate = req.socket.getPeerCertificate();
      record.tlsVersion = req.socket.getProtocol();
    }
    state.requests.push(record);
    socket.on('error', () => {});
    socket.on('close', (code, reason) => {
      state.sockets.delete(socket);
      state.closes.push({ code, reason: reason.toString() });
    });
    if (opts.onConnection) {
      opts.onConnection(socket, req);
      return;
    }
    socket.on('message', (data, isBinary) => {
      state.received.push({ data, isBinary });
      socket.send(data, { binary: isBinary });
    });
  });
}

function newState(wss, url, port, closeExtra) {
  const state = {
    url,
    port,
    wss,
    /** @type {{headers: object, url: string}[]} */
    requests: [],
    /** @type {{data: Buffer, isBinary: boolean}[]} */
    received: [],
    /** @type {{code: number, reason: string}[]} */
    closes: [],
    sockets: new Set(),
    async close() {
      for (const s of state.sockets) s.terminate();
      await new Promise((resolve) => wss.close(() => resolve()));
      if (closeExtra) await closeExtra();
    },
    /** Resolves once the server has seen `n` WebSocket closes (bounded). */
    waitForCloses(n = 1, timeout) {
      return waitUntil(() => state.closes.length >= n, { timeout, label: `server saw ${n} close(s)` }).then(
        () => state.closes[n - 1],
      );
    },
    /** Resolves once the server has received `n` messages (bounded). */
    waitForReceived(n = 1, timeout) {
      return waitUntil(() => state.received.length >= n, { timeout, label: `server received ${n} message(s)` });
    },
    /** Resolves once no server-side WebSocket is open any more (bounded). */
    waitIdle(timeout) {
      return waitUntil(() => state.sockets.size === 0, { timeout, label: 'server without open connections' });
    },
    /** Resolves once the server has accepted `n` handshakes (bounded). */
    waitForRequests(n = 1, timeout) {
      return waitUntil(() => state.requests.length >= n, { timeout, label: `server accepted ${n} handshake(s)` });
    },
  };
  return state;
}

/**
 * A `ws` echo server. Every text message is echoed as text, every binary one as binary.
 * Records what it saw so tests can assert on the server side too.
 * @param {object} [opts]
 * @param {(socket: import('ws').WebSocket, req: import('http').IncomingMessage) => void} [opts.onConnection]
 *        replaces the echo behaviour when given.
 * @param {object} [opts.wsOptions] extra options for `new WebSocketServer`.
 * @param {(headers: string[], req: import('http').IncomingMessage) => void} [opts.onHeaders]
 *        may push extra raw header lines into the 101 response (ws 'headers' event).
 */
export async function startEchoServer(opts = {}) {
  const wss = new WebSocketServer({ host: HOST, port: 0, ...(opts.wsOptions || {}) });
  await once(wss, 'listening');
  const { port } = wss.address();
  const state = newState(wss, `ws://${HOST}:${port}`, port);
  wireEchoServer(wss, state, opts);
  return state;
}

/**
 * A TLS echo server: `https.createServer({key, cert})` + `ws` on top. Same state object as
 * startEchoServer; `url` is `wss://127.0.0.1:PORT`, `localUrl` is `wss://localhost:PORT`.
 */
export async function startTlsEchoServer({ key, cert, ...tlsOptions }, opts = {}) {
  const server = https.createServer({ key, cert, ...tlsOptions });
  const tlsErrors = [];
  server.on('tlsClientError', (err) => tlsErrors.push(err));
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address();
  const wss = new WebSocketServer({ server, ...(opts.wsOptions || {}) });
  const state = newState(wss, `wss://${HOST}:${port}`, port, async () => {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(() => resolve()));
  });
  state.localUrl = `wss://localhost:${port}`;
  state.tlsErrors = tlsErrors;
  wireEchoServer(wss, state, opts);
  return state;
}

/**
 * A `ws` server that ends every connection itself, right after the handshake (or after the
 * first message when `afterMessage` is set):
 * - `{code, reason}`: close frame with that status and reason;
 * - `{noPayload: true}`: close frame without any payload;
 * - `{destroy: true}`: the TCP socket is destroyed without a close frame.
 */
export async function startClosingServer({ code, reason = '', noPayload = false, destroy = false, afterMessage = false }) {
  const end = (socket) => {
    if (destroy) socket.terminate();
    else if (noPayload) socket.close();
    else socket.close(code, reason);
  };
  return startEchoServer({
    onConnection(socket) {
      if (afterMessage) socket.once('message', () => end(socket));
      else end(socket);
    },
  });
}

/**
 * A plain `http` server answering every request — including upgrade requests — with
 * `status`. Records the requests it saw in `requests`.
 */
export async function startStatusServer(status, { headers = {} } = {}) {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url, headers: req.headers });
    res.writeHead(status, { connection: 'close', ...headers });
    res.end(`status ${status}`);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket) => {
    requests.push({ url: req.url, headers: req.headers });
    const body = `status ${status}`;
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.on('error', () => {});
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] || 'Unknown'}\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${extra}\r\n${body}`,
    );
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `ws://${HOST}:${port}`,
    port,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A raw `net` server for hand-written HTTP responses. Reads the request head (up to the
 * blank line), records it, and calls `onRequest(socket, request)`; `request` is
 * `{head, requestLine, url, headers}` with lower-cased header names and `rest` (bytes after
 * the head).
 */
export async function startRawServer(onRequest) {
  const requests = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      const [requestLine, ...lines] = head.split('\r\n');
      const headers = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const request = { head, requestLine, url: requestLine.split(' ')[1], headers, rest };
      requests.push(request);
      onRequest(socket, request);
    };
    socket.on('data', onData);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `ws://${HOST}:${port}`,
    port,
    requests,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Encodes one unmasked server frame. */
export function encodeFrame(opcode, payload = Buffer.alloc(0), fin = true) {
  const data = Buffer.from(payload);
  let header;
  if (data.length < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, data.length]);
  } else if (data.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  return Buffer.concat([header, data]);
}

/** Payload of a close frame. */
export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/**
 * A hand-written WebSocket server on `net` (full control over every frame). It answers the
 * handshake with a correct 101 (plus `extraHeaders`, raw lines) and parses the client's
 * frames. `onConnection(conn)` receives `{socket, request, frames, send(opcode, payload),
 * on(fn)}` where `on(fn)` is called with each parsed frame `{fin, opcode, payload}`.
 * Every connection's frames are also collected in `connections[i].frames`.
 */
export async function startRawWsServer({ onConnection = () => {}, extraHeaders = [] } = {}) {
  const connections = [];
  const raw = await startRawServer((socket, request) => {
    const key = request.headers['sec-websocket-key'] || '';
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n${extraHeaders.map((h) => `${h}\r\n`).join('')}\r\n`,
    );
    const listeners = [];
    const conn = {
      socket,
      request,
      frames: [],
      send(opcode, payload, fin = true) {
        if (!socket.destroyed) socket.write(encodeFrame(opcode, payload, fin));
      },
      on(fn) {
        listeners.push(fn);
      },
    };
    connections.push(conn);
    let buf = Buffer.from(request.rest);
    const parse = () => {
      for (;;) {
        if (buf.length < 2) return;
        const fin = (buf[0] & 0x80) !== 0;
        const opcode = buf[0] & 0x0f;
        const masked = (buf[1] & 0x80) !== 0;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        const maskLen = masked ? 4 : 0;
        if (buf.length < off + maskLen + len) return;
        const mask = masked ? buf.subarray(off, off + 4) : null;
        const payload = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len));
        if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
        buf = buf.subarray(off + maskLen + len);
        const frame = { fin, opcode, masked, payload };
        conn.frames.push(frame);
        for (const fn of listeners) fn(frame);
      }
    };
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      parse();
    });
    onConnection(conn);
    parse();
  });
  return { ...raw, connections };
}

/** A TCP port on 127.0.0.1 on which nothing listens (bound once, then released). */
export async function closedPort() {
  const s = net.createServer();
  s.listen(0, HOST);
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((resolve) => s.close(() => resolve()));
  return port;
}

export const DEFAULT_WAIT_MS = 5000;

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `predicate()` is truthy; rejects after `timeout` ms, naming `label`. */
export async function waitUntil(predicate, { timeout = DEFAULT_WAIT_MS, label = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${label}`);
    await delay(5);
  }
}

/** `promise`, or a rejection after `timeout` ms naming `label`. */
export function withTimeout(promise, timeout = DEFAULT_WAIT_MS, label = 'promise') {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms waiting for ${label}`)), timeout);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export const EVENT_TYPES = ['open', 'openInfo', 'message', 'dataEnd', 'close', 'error', 'headerReceive'];
/** Events whose listener is called as `cb(undefined, value)` (R5). */
export const ASYNC_CALLBACK_EVENTS = new Set(['open', 'openInfo', 'message', 'close']);

/**
 * Resolves with the argument list of the next `type` event of a client `ws` (bounded).
 * Registers its own listener (replacing any other of that type, R4) and removes it after.
 */
export function nextEvent(ws, type, timeout = DEFAULT_WAIT_MS) {
  let fn;
  const p = new Promise((resolve) => {
    fn = (...args) => resolve(args);
    ws.on(type, fn);
  });
  return withTimeout(p, timeout, `'${type}' event`).finally(() => ws.off(type, fn));
}

/**
 * Registers a recording listener for each of `types` on a client `ws`. Every call is stored
 * as `{type, args, value}` (value = args[1] for AsyncCallback events, args[0] otherwise) in
 * `log`, in delivery order. `mark(name, extra)` appends a non-event entry (e.g. a settlement).
 */
export function recordEvents(ws, types = EVENT_TYPES) {
  const log = [];
  const rec = {
    log,
    listeners: {},
    types: () => log.map((e) => e.type),
    of: (type) => log.filter((e) => e.type === type),
    mark(type, value) {
      log.push({ type, args: [], value });
    },
    /** Resolves with the `count`-th entry of `type` (bounded). */
    async waitFor(type, { count = 1, timeout = DEFAULT_WAIT_MS } = {}) {
      await waitUntil(() => rec.of(type).length >= count, {
        timeout,
        label: `${count} '${type}' event(s); got [${rec.types().join(', ')}]`,
      });
      return rec.of(type)[count - 1];
    },
  };
  for (const type of types) {
    const fn = (...args) => {
      log.push({ type, args, value: ASYNC_CALLBACK_EVENTS.has(type) ? args[1] : args[0] });
    };
    rec.listeners[type] = fn;
    ws.on(type, fn);
  }
  return rec;
}

/**
 * Calls a callback-mode method: `invoke(cb)` must call the API with `cb` as its callback.
 * Returns `{ret, args, syncCall}`: the method's return value, a (bounded) promise of the
 * callback's argument list, and whether the callback ran before the method returned.
 */
export function callbackCall(invoke, timeout = DEFAULT_WAIT_MS) {
  let returned = false;
  const out = { syncCall: false, calls: 0 };
  const p = new Promise((resolve) => {
    out.ret = invoke((...args) => {
      out.calls += 1;
      if (!returned) out.syncCall = true;
      resolve(args);
    });
  });
  returned = true;
  out.args = withTimeout(p, timeout, 'completion callback');
  return out;
}

/**
 * Closes a client if it is still connected and waits (bounded, errors ignored) for its close
 * event; for `finally` blocks. Needs a recorder from recordEvents on `ws`.
 */
export async function closeQuietly(ws, rec) {
  if (!ws) return;
  const before = rec ? rec.of('close').length : 0;
  let accepted = false;
  try {
    accepted = await withTimeout(ws.close(), 2000, 'close()').then(
      () => true,
      () => false,
    );
  } catch {
    accepted = false;
  }
  if (accepted && rec) {
    await rec.waitFor('close', { count: before + 1, timeout: 6000 }).catch(() => {});
  }
}

/**
 * A plain and a TLS echo server for suites that use both: `{ pki, plain, tls, close() }`, the
 * TLS one with the `local` leaf of a fresh makeTestPki() (trust it through `pki.ca.cert`).
 */
export async function startEchoServers() {
  const pki = makeTestPki();
  const plain = await startEchoServer();
  const tls = await startTlsEchoServer(pem(pki.local));
  return {
    pki,
    plain,
    tls,
    async close() {
      await plain.close();
      await tls.close();
      pki.cleanup();
    },
  };
}
