// Issue #17 item 2: nothing a peer sends may size our memory before the bytes arrive. What the
// files of this folder share. Each memory case runs our side (a server or clients) in a child
// Node process and plays the hostile peer from the test over raw sockets; the child reports
// VmRSS, VmHWM, VmPeak and VmSize from /proc/self/status (on SIGUSR2) before and after, and the
// growth must stay within generous bounds. Linux only: /proc, bash and the 127.0.0.x loopback
// addresses. Every wait is bounded; children and sockets are ended in `finally` and in `after`
// (registered here, for every file that imports this one).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRELUDE } from '../helpers/child.mjs';
import { start } from '../helpers/process.mjs';
import { delay, waitUntil } from '../helpers/servers.mjs';
import { rawUpgraded } from '../helpers/server.mjs';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** 10 source addresses × 10 connections: the most S9's limits admit (both at most 10). */
export const SOURCE_IPS = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
export const PER_IP = 10;
/** After writing to a peer, time for the child to read it before it reports its memory. */
export const SETTLE_MS = 300;
/** Nothing of a child outlives this, whatever happens to a test (process.mjs SIGKILLs it). */
const CHILD_MAX_MS = 45_000;
export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };
export const UPGRADE_REQUEST =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

// ---- the child side ----

/** Lines after PRELUDE (`webSocket`, `emit`) in every child: its argument, counters, `mem()`. */
const CHILD_COMMON = `
import { readFileSync as readStatus } from 'node:fs';
const arg = JSON.parse(process.argv[2] ?? '{}');
const counts = {};
const count = (name) => { counts[name] = (counts[name] ?? 0) + 1; };
/** VmRSS, VmHWM, VmPeak and VmSize of this process, in KiB. */
function mem() {
  const kib = {};
  for (const line of readStatus('/proc/self/status', 'utf8').split('\\n')) {
    const i = line.indexOf(':');
    if (i > 0) kib[line.slice(0, i)] = parseInt(line.slice(i + 1), 10);
  }
  return { rss: kib.VmRSS, hwm: kib.VmHWM, peak: kib.VmPeak, size: kib.VmSize };
}
/** An error event's value as JSON sees it, plus its non-enumerable detail. */
const describeError = (err) => ({
  json: JSON.stringify(err),
  name: err?.name,
  data: err?.data,
  detail: err?.detail,
  detailEnumerable: Object.prototype.propertyIsEnumerable.call(err ?? {}, 'detail'),
});
process.on('SIGUSR2', () => emit('mem', { ...mem(), counts }));
// Alive until the test ends it, even once every connection is gone.
setInterval(() => {}, 1 << 30);
`;

/**
 * A server on 127.0.0.1 (limits 10/10 unless `arg.config` says otherwise) that echoes every
 * message. `arg.report`: one line per message, error and close event. `arg.busyMs`: once the
 * first client is connected, JS spins that long, then reports every error event it got.
 * SIGTERM stops the server and exits 0.
 */
export const SERVER_CHILD = `
const server = webSocket.createWebSocketServer();
const errors = [];
server.on('connect', () => {
  count('connect');
  if (arg.busyMs && counts.connect === 1) setTimeout(spin, 20);
});
server.on('messageReceive', ({ data, clientConnection }) => {
  count('message');
  if (arg.report) emit('message', typeof data === 'string' ? { text: data } : { bytes: data.byteLength });
  server.send(data, clientConnection).catch(() => {});
});
server.on('error', (err) => {
  count('error');
  if (arg.busyMs) errors.push(describeError(err));
  else if (arg.report) emit('error', describeError(err));
});
server.on('close', (connection, result) => {
  count('close');
  if (arg.report) emit('close', { code: result.code, reason: result.reason });
});
function spin() {
  emit('busy', mem());
  const until = Date.now() + arg.busyMs;
  while (Date.now() < until);
  emit('free');
  // Report once the queued events have all come in: no new one for 300 ms (at most 5 s).
  let seen = -1;
  let quiet = 0;
  const started = Date.now();
  const poll = setInterval(() => {
    const n = counts.error ?? 0;
    quiet = n === seen ? quiet + 1 : 0;
    seen = n;
    if (quiet >= 3 || Date.now() - started > 5000) {
      clearInterval(poll);
      emit('errors', { count: n, errors, mem: mem() });
    }
  }, 100);
}
process.on('SIGTERM', () => server.stop().then(() => process.exit(0), () => process.exit(3)));
await server.start({
  serverIP: '127.0.0.1', serverPort: 0, maxConcurrentClientsNumber: 10, maxConnectionsForOneClient: 10,
  ...arg.config,
});
emit('ready', { port: server.address().port, ...mem() });
`;

/**
 * `arg.clients` clients connecting to `arg.url`; 'opened' once all are open. `arg.report`:
 * one line per message, error and close event; `arg.echo`: every message is sent back.
 */
export const CLIENT_CHILD = `
const clients = [];
for (let i = 0; i < arg.clients; i++) {
  const ws = webSocket.createWebSocket();
  ws.on('open', () => {
    count('open');
    if (counts.open === arg.clients) emit('opened', mem());
  });
  ws.on('message', (err, data) => {
    count('message');
    if (arg.report) emit('message', typeof data === 'string' ? { text: data } : { bytes: data.byteLength });
    if (arg.echo) ws.send(data).catch(() => {});
  });
  ws.on('error', (err) => {
    count('error');
    if (arg.report) emit('error', describeError(err));
  });
  ws.on('close', (err, value) => {
    count('close');
    if (arg.report) emit('close', value);
  });
  ws.connect(arg.url).catch((err) => emit('connect-rejected', describeError(err)));
  clients.push(ws);
}
emit('ready', mem());
`;

// ---- the test side ----

/** What `after` ends if a test could not: children, sockets, servers. */
export const live = { children: new Set(), sockets: new Set(), servers: new Set() };

after(async () => {
  for (const s of live.sockets) s.destroy();
  await Promise.all([...live.children].map((h) => h.end()));
  await Promise.all([...live.servers].map((s) => s.close().catch(() => {})));
});

/**
 * Runs `source` (after PRELUDE and CHILD_COMMON) in a child Node with `arg` as its argument,
 * under `ulimit -v limitKiB` when given (through bash, which execs node: same pid). The handle
 * is process.mjs's, plus `events()`, `waitEvent(ev, n)`, `memory()` and `end()`.
 */
export function launch(source, arg = {}, { limitKiB } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ohos-ws-bounds-'));
  const script = join(dir, 'main.mjs');
  writeFileSync(script, PRELUDE + CHILD_COMMON + source);
  const argv = [script, JSON.stringify(arg)];
  const h =
    limitKiB === undefined
      ? start(process.execPath, argv, { timeout: CHILD_MAX_MS })
      : start('bash', ['-c', `ulimit -v ${limitKiB} && exec "$0" "$@"`, process.execPath, ...argv], { timeout: CHILD_MAX_MS });
  live.children.add(h);
  const gone = h.exited.then(
    (info) => info,
    (err) => ({ spawnError: String(err) }),
  );
  gone.then(() => {
    live.children.delete(h);
    rmSync(dir, { recursive: true, force: true });
  });
  const events = [];
  let parsed = 0;
  h.events = () => {
    for (let nl; (nl = h.stdout.indexOf('\n', parsed)) >= 0; parsed = nl + 1) {
      const line = h.stdout.slice(parsed, nl);
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line));
      } catch {
        events.push({ ev: 'non-json', line });
      }
    }
    return events;
  };
  h.all = (ev) => h.events().filter((e) => e.ev === ev);
  h.describe = () =>
    `exit=${JSON.stringify(h.exitInfo)} stdout…=${JSON.stringify(h.stdout.slice(-1500))} stderr…=${JSON.stringify(h.stderr.slice(-3000))}`;
  /** The `count`-th event named `ev`; rejects when the child exits or `timeout` ms pass. */
  h.waitEvent = async (ev, count = 1, timeout = 10_000) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = h.all(ev);
      if (found.length >= count) return found[count - 1];
      if (h.exitInfo) {
        await gone;
        if (h.all(ev).length >= count) continue;
        throw new Error(`the child ended before event '${ev}' #${count}: ${h.describe()}`);
      }
      if (Date.now() > deadline) throw new Error(`no child event '${ev}' #${count} within ${timeout} ms: ${h.describe()}`);
      await delay(10);
    }
  };
  /** The child's memory now (KiB) and its event counts. */
  h.memory = async () => {
    const n = h.all('mem').length;
    if (!h.exitInfo) h.proc.kill('SIGUSR2');
    return h.waitEvent('mem', n + 1, 5000);
  };
  h.end = async () => {
    if (!h.exitInfo) h.proc.kill('SIGKILL');
    await gone;
  };
  return h;
}

/** `{rss, hwm, peak, size}` growth in KiB between two reports. */
function growth(before, after) {
  return { rss: after.rss - before.rss, hwm: after.hwm - before.hwm, peak: after.peak - before.peak, size: after.size - before.size };
}

export const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;

/** A readable line for the growth between two reports. */
export function growthText(before, after) {
  const g = growth(before, after);
  return (
    `VmRSS +${mib(g.rss)} (${mib(before.rss)} → ${mib(after.rss)}), VmHWM +${mib(g.hwm)}, ` +
    `VmPeak +${mib(g.peak)} (${mib(before.peak)} → ${mib(after.peak)}), VmSize +${mib(g.size)}`
  );
}

/** Asserts the growth from `before` to `after` stays under the bounds (MiB); returns its text. */
export function assertGrowth(before, after, { rssMiB, peakMiB }, label) {
  const g = growth(before, after);
  const text = `${label}: ${growthText(before, after)}`;
  if (rssMiB !== undefined) assert.ok(g.rss < rssMiB * 1024, `VmRSS grew by more than ${rssMiB} MiB — ${text}`);
  if (peakMiB !== undefined) assert.ok(g.peak < peakMiB * 1024, `VmPeak grew by more than ${peakMiB} MiB — ${text}`);
  return text;
}

/** A raw TCP client from `localAddress`; every byte it receives is kept in `received`. */
export function rawClient(port, localAddress = '127.0.0.1') {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  live.sockets.add(socket);
  socket.on('error', () => {});
  socket.received = [];
  socket.on('data', (d) => socket.received.push(d));
  socket.ended = new Promise((r) =>
    socket.once('close', () => {
      live.sockets.delete(socket);
      r();
    }),
  );
  return socket;
}

export const receivedText = (socket) => Buffer.concat(socket.received).toString('latin1');

/** A raw client from `localAddress` past a completed upgrade (101). */
async function upgradedFrom(port, localAddress) {
  const socket = rawClient(port, localAddress);
  socket.write(UPGRADE_REQUEST);
  await waitUntil(() => receivedText(socket).includes('\r\n\r\n') || socket.destroyed, {
    timeout: 5000,
    label: `the upgrade answer to ${localAddress}`,
  });
  assert.match(receivedText(socket), /^HTTP\/1\.1 101 /, `upgrade from ${localAddress}`);
  return socket;
}

/** A raw client past the upgrade (rawUpgraded) to the server of `child`, a SERVER_CHILD; `after` ends it at the latest. */
export async function upgradedToChild(child) {
  const ready = await child.waitEvent('ready');
  const socket = await rawUpgraded(ready.port);
  live.sockets.add(socket);
  return socket;
}

/** 10 raw clients from each of SOURCE_IPS, all upgraded. */
export function hundredUpgraded(port) {
  return Promise.all(SOURCE_IPS.flatMap((ip) => Array.from({ length: PER_IP }, () => upgradedFrom(port, ip))));
}

/**
 * rawUpgraded's socket with its byte collector replaced by a frame scanner (the server's
 * frames are unmasked): counts pongs, keeps texts and close frames, and stops at the first
 * header that cannot start a server frame (FIN clear, RSV bits, a masked or a reserved
 * opcode: none of which this server sends), noting it in `corrupt`. Linear in the bytes, so
 * megabytes of pongs cost nothing; a paused socket stays paused.
 */
export function scanFrames(socket) {
  const scan = { pongs: 0, texts: [], closes: [], bytes: 0, corrupt: undefined };
  let rest = Buffer.alloc(0);
  let offset = 0; // stream offset of rest[0]
  const push = (chunk) => {
    scan.bytes += chunk.length;
    if (scan.corrupt) return;
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let i = 0;
    for (;;) {
      if (buf.length - i < 2) break;
      if ((buf[i] & 0xf0) !== 0x80 || buf[i + 1] & 0x80 || ![OP.TEXT, OP.BINARY, OP.CLOSE, OP.PONG].includes(buf[i] & 0x0f)) {
        const at = offset + i;
        scan.corrupt = `the byte stream is not frames from byte ${at} (frame ${scan.pongs + scan.texts.length + scan.closes.length} on): ` +
          `${buf.subarray(Math.max(0, i - 16), i).toString('hex')} | ${buf.subarray(i, i + 16).toString('hex')}`;
        return;
      }
      let len = buf[i + 1] & 0x7f;
      let at = i + 2;
      if (len === 126) {
        if (buf.length - i < 4) break;
        len = buf.readUInt16BE(i + 2);
        at = i + 4;
      } else if (len === 127) {
        if (buf.length - i < 10) break;
        len = Number(buf.readBigUInt64BE(i + 2));
        at = i + 10;
      }
      if (buf.length < at + len) break;
      const opcode = buf[i] & 0x0f;
      const payload = buf.subarray(at, at + len);
      if (opcode === OP.PONG) scan.pongs += 1;
      else if (opcode === OP.TEXT) scan.texts.push(payload.toString());
      else if (opcode === OP.CLOSE) scan.closes.push({ code: len >= 2 ? payload.readUInt16BE(0) : undefined, reason: payload.subarray(2).toString() });
      i = at + len;
    }
    offset += i;
    rest = Buffer.from(buf.subarray(i));
  };
  socket.removeAllListeners('data');
  if (socket.frames.length) push(socket.frames);
  socket.on('data', push);
  return scan;
}

/** `n` copies of `frame`, as one buffer. */
export const repeated = (frame, n) => Buffer.concat(Array.from({ length: n }, () => frame));

export const linuxOnly = process.platform !== 'linux' && 'needs /proc, bash and the 127.0.0.x loopback addresses';
