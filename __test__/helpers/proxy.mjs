// A real HTTP CONNECT proxy on 127.0.0.1 for the proxy tests (R30–R32) and the R22 bound.
// It records every request head it receives and, depending on `mode`, tunnels, refuses,
// demands credentials, drops the connection or never answers.
import { once } from 'node:events';
import net from 'node:net';
import { HOST, waitUntil } from './servers.mjs';

/**
 * Starts the proxy. Options (all may be changed later on the returned object):
 * - `mode`: 'tunnel' (default) | 'refuse' (answers `refuseStatus`, default 403) | 'drop'
 *   (reads the CONNECT, then destroys the socket without answering) | 'silent' (reads the
 *   CONNECT and never answers);
 * - `auth`: `{username, password}` → a CONNECT without exactly these Basic credentials gets
 *   407 with `Proxy-Authenticate`;
 * - `route(host, port)`: where the tunnel really goes; default: every host name is reached on
 *   127.0.0.1 at the requested port, so fake names (`echo.test`) can only be reached through
 *   the proxy. Return `{host, port}`.
 * - `answerDelayMs`: wait this long before answering a CONNECT;
 * - `okAnswer`: the success answer as an array of chunks, written 20 ms apart (default: one
 *   `HTTP/1.1 200 Connection established` head).
 *
 * Returns `{port, url, connects, tunnels, close(), waitForConnects(n)}` where each entry of
 * `connects` is `{line, method, authority, host, port, authorization, headers, head}`
 * (`authorization` = the `Proxy-Authorization` value or undefined; `firstBytes` = the first
 * bytes the client sent through the tunnel) and `tunnels` counts
 * tunnels established (upstream connected and 200 sent).
 */
export async function startProxy(options = {}) {
  const state = {
    mode: options.mode ?? 'tunnel',
    refuseStatus: options.refuseStatus ?? 403,
    auth: options.auth ?? null,
    route: options.route ?? ((host, port) => ({ host: HOST, port })),
    answerDelayMs: options.answerDelayMs ?? 0,
    okAnswer: options.okAnswer ?? ['HTTP/1.1 200 Connection established\r\n\r\n'],
    /** @type {object[]} */
    connects: [],
    tunnels: 0,
    /** bytes relayed client → upstream and upstream → client */
    bytesUp: 0,
    bytesDown: 0,
  };
  const sockets = new Set();
  const track = (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };

  const server = net.createServer((client) => {
    track(client);
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 64 * 1024) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      const record = parseHead(head);
      state.connects.push(record);
      const answer = () => handle(client, record, rest);
      if (state.answerDelayMs > 0) setTimeout(answer, state.answerDelayMs);
      else answer();
    };
    client.on('data', onData);
  });

  function reply(client, status, reason, extra = '') {
    if (client.destroyed) return;
    client.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  }

  function handle(client, record, rest) {
    if (client.destroyed) return;
    if (record.method !== 'CONNECT') {
      reply(client, 405, 'Method Not Allowed');
      return;
    }
    if (state.mode === 'silent') return;
    if (state.mode === 'drop') {
      client.destroy();
      return;
    }
    if (state.mode === 'refuse') {
      reply(client, state.refuseStatus, 'Refused by test proxy');
      return;
    }
    if (state.auth) {
      const expected = `Basic ${Buffer.from(`${state.auth.username}:${state.auth.password}`).toString('base64')}`;
      if (record.authorization !== expected) {
        reply(client, 407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test"\r\n');
        return;
      }
    }
    const to = state.route(record.host, record.port);
    const upstream = net.connect(to.port, to.host);
    track(upstream);
    upstream.once('error', () => reply(client, 502, 'Bad Gateway'));
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      state.tunnels += 1;
      const chunks = [...state.okAnswer];
      const writeNext = () => {
        if (client.destroyed) return;
        client.write(chunks.shift());
        if (chunks.length) setTimeout(writeNext, 20);
        else startRelay();
      };
      writeNext();
    });

    function startRelay() {
      if (rest.length) record.firstBytes = Buffer.from(rest.subarray(0, 16));
      else client.once('data', (d) => (record.firstBytes = Buffer.from(d.subarray(0, 16))));
      if (rest.length) {
        state.bytesUp += rest.length;
        upstream.write(rest);
      }
      client.on('data', (d) => {
        state.bytesUp += d.length;
      });
      upstream.on('data', (d) => {
        state.bytesDown += d.length;
      });
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    }
  }

  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address();
  Object.assign(state, {
    port,
    host: HOST,
    url: `http://${HOST}:${port}`,
    /** An explicit `HttpProxy` option value pointing at this proxy. */
    option(extra = {}) {
      return { host: HOST, port, exclusionList: [], ...extra };
    },
    /** Resolves once `n` request heads were received (bounded). */
    waitForConnects(n = 1, timeout) {
      return waitUntil(() => state.connects.length >= n, { timeout, label: `proxy saw ${n} CONNECT(s)` });
    },
    /** Open client + upstream sockets. */
    openSockets: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  });
  return state;
}

/** Request line and header fields of a request head (names lower-cased). */
function parseHead(head) {
  const [line, ...lines] = head.split('\r\n');
  const headers = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const [method, authority] = line.split(' ');
  let host = authority ?? '';
  let port = NaN;
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(host);
  if (m) {
    host = m[1].replace(/^\[|\]$/g, '');
    port = Number(m[2]);
  }
  return { line, method, authority, host, port, authorization: headers['proxy-authorization'], headers, head };
}
