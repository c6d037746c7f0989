// `npm run bench`: the client scenarios of issue #5 for every client (bench/client.mjs
// against the Rust bench server), their wss variants (a-echo-tls, b-latency-tls,
// c-64k-tls) and the wss handshake rate (h-handshake-tls) against the bench server's TLS
// listener, with a self-signed certificate made for the run by the `openssl` CLI (without
// it the TLS scenarios are skipped), and the server scenarios of issue #8 for every server
// (bench/server-scenarios.mjs: a server app driven by the Rust load generator). Each
// measurement runs in fresh processes, subjects alternating round by round so that slow
// drifts of a shared, noisy machine hit all of them alike. Prints one table per scenario
// (median, min–max, ratios of medians to the peers: plain `ws`, `ws` + bufferutil, and the
// native tokio-tungstenite client or uWebSockets.js, CPU per message) and writes
// bench/results/latest.json, latest.md and chart.svg.
//
//   node bench/run.mjs [--quick] [--rounds N] [--clients ohos,ws,...|none]
//       [--servers ohos,ws,ws+bufferutil,uws|none] [--scenarios a-echo,a-echo-tls,h-handshake-tls,s1-echo,...]
//       [--env KEY=VALUE]... [--out NAME]
//
// --env adds a variable to every client and server app process (all subjects alike); a
// subject may carry its own (`--servers ohos@OHOS_WS_IO_THREADS=1,ohos@OHOS_WS_IO_THREADS=2,ws`,
// see bench/subjects.mjs), so that two settings alternate in one run;
// --out NAME writes results/NAME.{md,json,svg} instead of latest.* and chart.svg.
// Only ratios measured in one run mean anything: never compare figures across runs.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.mjs';
import { runJsonChild } from './json-child.mjs';
import { SERVERS, SERVER_SCENARIOS, SERVER_VERSUS, serverPart } from './server-scenarios.mjs';
import { childEnv, label, NODE_WEBSOCKET_FLAG, parseSubject } from './subjects.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');

// ---------- options ----------
const argv = process.argv.slice(2);
const opt = { quick: false, rounds: 3, clients: null, servers: null, scenarios: null, env: {}, out: 'latest' };
const list = (v) => (v === 'none' ? [] : v.split(','));
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  if (a === '--quick') opt.quick = true;
  else if (a === '--rounds') opt.rounds = Number(value());
  else if (a === '--clients') opt.clients = list(value());
  else if (a === '--servers') opt.servers = list(value());
  else if (a === '--scenarios') opt.scenarios = value().split(',');
  else if (a === '--env') {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(value());
    if (!m) usage('--env needs KEY=VALUE');
    opt.env[m[1]] = m[2];
  } else if (a === '--out') {
    opt.out = value();
    if (!/^[\w.-]+$/.test(opt.out)) usage('--out needs a plain file name');
  } else usage(`unknown option ${a}`);
}
if (!Number.isInteger(opt.rounds) || opt.rounds < 1) usage('--rounds must be a positive integer');
function usage(msg) {
  console.error(`${msg}\nusage: node bench/run.mjs [--quick] [--rounds N] [--clients a,b|none] [--servers a,b|none]
       [--scenarios x,y] [--env KEY=VALUE]... [--out NAME]
scenarios: client a-echo b-latency c-64k c-1m d-text d-binary g-slow e-sink f-conns,
  over wss a-echo-tls b-latency-tls c-64k-tls h-handshake-tls; server s1-echo s2-fanout s3-large s4-open`);
  process.exit(2);
}

// ---------- what is measured ----------
// node: Node's global WebSocket; rust: the native client (bench/server/src/bin/native-client.rs).
const CLIENTS = ['ohos', 'ws', 'ws+bufferutil', 'ws+arraybuffer', 'undici', 'node', 'rust'];
const BASELINE = 'ws';
// The peers every client scenario is divided by (a column each, when the peer ran): plain
// ws, ws + bufferutil and the native client, the ceiling. A scenario's `versus` replaces it.
const CLIENT_VERSUS = ['ws', 'ws+bufferutil', 'rust'];

const M = {
  rate: { key: 'rate', label: 'msgs/s', better: 'higher', fmt: (v) => int(v) },
  mbps: { key: 'mbps', label: 'MB/s', better: 'higher', fmt: (v) => int(v) },
  p50: { key: 'p50', label: 'p50 µs', better: 'lower', fmt: (v) => v.toFixed(1) },
  p99: { key: 'p99', label: 'p99 µs', better: 'lower', fmt: (v) => v.toFixed(1) },
  openMs: { key: 'openMs', label: 'all open, ms', better: 'lower', fmt: (v) => int(v) },
  rssKiB: { key: 'rssKiB', label: 'RSS KiB/conn', better: 'lower', fmt: (v) => v.toFixed(1) },
  peakMiB: { key: 'peakMiB', label: 'peak RSS MiB', better: 'lower', fmt: (v) => v.toFixed(1) },
  connRate: { key: 'connRate', label: 'conns/s', better: 'higher', fmt: (v) => int(v) },
};

// full / quick parameters. Counts for (c) are chosen so one run takes ~1–3 s here.
const SCENARIOS = [
  {
    id: 'a-echo',
    title: (p) => `(a) echo, 1 connection, ${int(p.count)} × ${p.size} B text, ≤ ${int(p.window)} in flight`,
    metrics: [M.rate],
    chart: ['(a) echo'],
    cpu: 'µs/msg',
    full: { count: 200_000, size: 32, window: 1000 },
    quick: { count: 20_000, size: 32, window: 1000 },
  },
  {
    id: 'b-latency',
    title: (p) => `(b) ${int(p.count)} sequential round trips of ${p.size} B text (after ${int(p.warmup)} warm-up)`,
    metrics: [M.p50, M.p99],
    chart: ['(b) p50', '(b) p99'],
    cpu: 'µs/rtt',
    full: { count: 20_000, warmup: 1000, size: 32 },
    quick: { count: 2000, warmup: 200, size: 32 },
  },
  {
    id: 'c-64k',
    title: (p) => `(c) echo of ${int(p.count)} × 64 KiB binary, ≤ ${p.window} in flight (MB/s of echoed payload)`,
    metrics: [M.mbps],
    chart: ['(c) 64 KiB'],
    cpu: 'µs/msg',
    full: { count: 20_000, size: 65_536, window: 16 },
    quick: { count: 1000, size: 65_536, window: 16 },
  },
  {
    id: 'c-1m',
    title: (p) => `(c) echo of ${int(p.count)} × 1 MiB binary, ≤ ${p.window} in flight (MB/s of echoed payload)`,
    metrics: [M.mbps],
    chart: ['(c) 1 MiB'],
    cpu: 'µs/msg',
    full: { count: 1280, size: 1_048_576, window: 4 },
    quick: { count: 64, size: 1_048_576, window: 4 },
  },
  {
    id: 'd-text',
    title: (p) => `(d) receive-only, server pushes ${int(p.count)} × ${p.size} B text (open → "END")`,
    metrics: [M.rate],
    chart: ['(d) text'],
    cpu: 'µs/msg',
    full: { count: 500_000, size: 64 },
    quick: { count: 50_000, size: 64 },
  },
  {
    id: 'd-binary',
    title: (p) => `(d) receive-only, server pushes ${int(p.count)} × ${p.size} B binary (open → "END")`,
    metrics: [M.rate],
    chart: ['(d) binary'],
    cpu: 'µs/msg',
    // ws's Buffer views against the ArrayBuffer per message that R59 asks of us.
    versus: [...CLIENT_VERSUS, 'ws+arraybuffer'],
    full: { count: 500_000, size: 64 },
    quick: { count: 50_000, size: 64 },
  },
  {
    id: 'g-slow',
    title: (p) =>
      `(g) slow consumer: server pushes ${int(p.count)} × ${p.size} B binary, the listener takes ${p.busyUs} µs per message`,
    metrics: [M.peakMiB, M.rate],
    chart: ['(g) peak RSS', '(g) rate'],
    cpu: 'µs/msg',
    targets: [{ metric: 'peakMiB', vs: 'ws', op: '<=', value: 1.5 }],
    full: { count: 400_000, size: 1024, busyUs: 5 },
    quick: { count: 40_000, size: 1024, busyUs: 5 },
  },
  {
    id: 'e-sink',
    title: (p) => `(e) send-only, ${int(p.count)} × ${p.size} B text to a sink, ${p.burst} per tick (open → "COUNT")`,
    metrics: [M.rate],
    chart: ['(e) send'],
    cpu: 'µs/msg',
    full: { count: 200_000, size: 32, burst: 1000 },
    quick: { count: 20_000, size: 32, burst: 1000 },
  },
  {
    id: 'f-conns',
    title: (p) => `(f) ${int(p.conns)} concurrent connections to /echo, opened at once`,
    metrics: [M.openMs, M.rssKiB],
    chart: ['(f) open time', '(f) RSS/conn'],
    cpu: 'µs/conn',
    full: { conns: 2000 },
    quick: { conns: 500 },
  },
  // wss: `tls: true` points the client at the bench server's TLS listener and hands it the
  // run's certificate (ours as caPath, ws as `ca`, undici through an Agent's `connect.ca`,
  // Node's WebSocket through NODE_EXTRA_CA_CERTS, the native client as its only root).
  // Parameters are those of the plain scenarios, so TLS cost is what tells them apart.
  {
    id: 'a-echo-tls',
    tls: true,
    title: (p) => `(a) wss echo, 1 connection, ${int(p.count)} × ${p.size} B text, ≤ ${int(p.window)} in flight`,
    metrics: [M.rate],
    chart: ['(a) echo wss'],
    cpu: 'µs/msg',
    targets: [{ metric: 'rate', vs: 'ws', op: '>=', value: 2 }],
    full: { count: 200_000, size: 32, window: 1000 },
    quick: { count: 20_000, size: 32, window: 1000 },
  },
  {
    id: 'b-latency-tls',
    tls: true,
    title: (p) => `(b) wss, ${int(p.count)} sequential round trips of ${p.size} B text (after ${int(p.warmup)} warm-up)`,
    metrics: [M.p50, M.p99],
    chart: ['(b) p50 wss', '(b) p99 wss'],
    cpu: 'µs/rtt',
    targets: [
      { metric: 'p50', vs: 'ws+bufferutil', op: '<=', value: 1.0 },
      { metric: 'p99', vs: 'ws+bufferutil', op: '<=', value: 0.9 },
    ],
    full: { count: 20_000, warmup: 1000, size: 32 },
    quick: { count: 2000, warmup: 200, size: 32 },
  },
  {
    id: 'c-64k-tls',
    tls: true,
    title: (p) => `(c) wss echo of ${int(p.count)} × 64 KiB binary, ≤ ${p.window} in flight (MB/s of echoed payload)`,
    metrics: [M.mbps],
    chart: ['(c) 64 KiB wss'],
    cpu: 'µs/msg',
    targets: [{ metric: 'mbps', vs: 'ws+bufferutil', op: '>=', value: 1.3 }],
    full: { count: 20_000, size: 65_536, window: 16 },
    quick: { count: 1000, size: 65_536, window: 16 },
  },
  {
    id: 'h-handshake-tls',
    tls: true,
    title: (p) =>
      `(h) wss handshake rate: ${int(p.count)} connections (after ${int(p.warmup)} warm-up), ${p.concurrency === 1 ? 'one at a time' : `${p.concurrency} at a time`}, each opened, one ${p.size} B text echoed, closed`,
    // One at a time: each client is CPU-bound through a connection's life here (CPU per
    // connection ≈ its wall time for ws and undici, ~80 % for ours, no timer waited on),
    // so concurrency would only add the two cores' contention. TLS 1.3 throughout; the
    // rustls clients (ours, the native one) and Node's WebSocket resume sessions after the
    // first handshake, ws and undici's Agent make every one a full handshake
    // (BENCH_SERVER_DEBUG=1 prints each).
    metrics: [M.connRate],
    chart: ['(h) wss handshakes'],
    cpu: 'µs/conn',
    targets: [{ metric: 'connRate', vs: 'ws', op: '>=', value: 3 }],
    full: { count: 2000, warmup: 50, size: 32, concurrency: 1 },
    quick: { count: 200, warmup: 20, size: 32, concurrency: 1 },
  },
];

const clients = opt.clients ?? CLIENTS;
const servers = opt.servers ?? SERVERS;
const pick = (all) => (opt.scenarios ? all.filter((s) => opt.scenarios.includes(s.id)) : all);
let scenarios = pick(SCENARIOS);
const serverScenarios = pick(SERVER_SCENARIOS);
const baseOf = (name) => {
  try {
    return parseSubject(name).base;
  } catch (e) {
    return usage(e.message);
  }
};
for (const c of clients) if (!CLIENTS.includes(baseOf(c))) usage(`unknown client ${c}`);
for (const s of servers) if (!SERVERS.includes(baseOf(s))) usage(`unknown server ${s}`);
if (opt.scenarios) {
  for (const s of opt.scenarios) if (![...SCENARIOS, ...SERVER_SCENARIOS].some((x) => x.id === s)) usage(`unknown scenario ${s}`);
}
const CHILD_TIMEOUT_MS = opt.quick ? 45_000 : 120_000;

// ---------- process hygiene: whatever happens, no child outlives us ----------
const children = new Set();
let server = null;
function killAll() {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  if (server && server.exitCode === null) server.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

// ---------- setup ----------
function sh(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench: ${what} failed (${r.error ? r.error.message : `exit ${r.status}`})`);
    process.exit(1);
  }
}
sh(process.execPath, [path.join(root, 'scripts', 'ensure-built.js')], 'building the addon');
// One build for the three binaries (bench-server, native-client, loadgen); a no-op taking
// well under a second when they are up to date.
const manifest = path.join(here, 'server', 'Cargo.toml');
if (!['bench-server', 'native-client', 'loadgen'].every((b) => existsSync(path.join(here, 'server', 'target', 'release', b)))) {
  console.log('bench: building the bench server, native client and load generator (first time: a minute or two)...');
}
sh('cargo', ['build', '--release', '--quiet', '--manifest-path', manifest], 'building bench/server');

// ---------- TLS: a certificate for this run ----------
// A fresh self-signed ECDSA P-256 certificate for 127.0.0.1 (and localhost), valid two
// days, in a temporary directory removed at exit. It is the only trust anchor each client
// is given; the bench server presents it on its TLS listener.
const TLS_CERT_DAYS = 2;
let tlsFiles = null;
process.on('exit', () => {
  if (tlsFiles) rmSync(tlsFiles.dir, { recursive: true, force: true });
});
function makeCertificate() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ohos-ws-bench-'));
  const files = { dir, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', String(TLS_CERT_DAYS), '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    // A server certificate, not a CA: WebPKI (the native client's rustls) refuses a CA's
    // certificate as a server's own, where Node's TLS and our caPath accept either.
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
    '-keyout', files.key, '-out', files.cert], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return files;
  rmSync(dir, { recursive: true, force: true });
  const why = r.error?.code === 'ENOENT' ? 'the openssl command is not installed' : `openssl failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}`;
  console.log(`bench: ${why}; skipping the TLS scenarios (${scenarios.filter((s) => s.tls).map((s) => s.id).join(', ')})`);
  return null;
}
if (clients.length && scenarios.some((s) => s.tls)) {
  tlsFiles = makeCertificate();
  if (!tlsFiles) scenarios = scenarios.filter((s) => !s.tls);
}

const hardNoFile = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || Infinity;
const softNoFile = Number(spawnSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).stdout.trim()) || Infinity;

/** Starts the bench server; resolves with its ws:// URL and, given `tls` files, the
 * wss:// URL of its TLS listener (127.0.0.1, a name the certificate holds). */
async function startServer(tls) {
  // Rust does not raise its soft descriptor limit (Node does, at start-up): do it for
  // the server so that (f) is not limited on its side by a low soft limit.
  const bin = path.join(here, 'server', 'target', 'release', 'bench-server');
  const args = tls ? ['--tls', tls.cert, tls.key] : [];
  server = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', bin, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // One line: "PORT", or "PORT TLS_PORT" with --tls.
  const [port, tlsPort] = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not report its port')), 10_000);
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+)(?: (\d+))?\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        if (tls && !m[2]) return reject(new Error('bench server reported no TLS port'));
        resolve([Number(m[1]), m[2] && Number(m[2])]);
      }
    });
    server.on('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  server.stdout.resume();
  return { url: `ws://127.0.0.1:${port}`, tlsUrl: tlsPort ? `wss://127.0.0.1:${tlsPort}` : null };
}

const NATIVE_CLIENT = path.join(here, 'server', 'target', 'release', 'native-client');

/** Runs one client process; resolves with its JSON line, or { error }. */
function runClient(client, scenario, url, params) {
  const base = baseOf(client);
  const env = childEnv(client, opt.env);
  const all = { ...params, timeoutMs: CHILD_TIMEOUT_MS - 2000 };
  if (base === 'rust') {
    // Node raises its soft descriptor limit at start-up, Rust does not: do it for (f).
    const args = ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', NATIVE_CLIENT, scenario, url,
      ...Object.entries(all).map(([k, v]) => `${k}=${v}`)];
    return runJsonChild('sh', args, { cwd: root, env, timeoutMs: CHILD_TIMEOUT_MS, children });
  }
  const flags = ['--expose-gc'];
  if (base === 'node') {
    if (NODE_WEBSOCKET_FLAG) flags.push(NODE_WEBSOCKET_FLAG);
    // Node's WebSocket takes no TLS options: the run's certificate joins Node's roots.
    if (params.caPath) env.NODE_EXTRA_CA_CERTS = params.caPath;
  }
  const args = [...flags, path.join(here, 'client.mjs'), base, scenario, url, JSON.stringify(all)];
  return runJsonChild(process.execPath, args, { cwd: root, env, timeoutMs: CHILD_TIMEOUT_MS, children });
}

/** The client half: one bench server for every client process. */
function clientPart() {
  let url = null;
  let tlsUrl = null;
  return {
    kind: 'client',
    async setup() {
      ({ url, tlsUrl } = await startServer(tlsFiles));
      return `bench server ${url}${tlsUrl ? ` and ${tlsUrl}` : ''}`;
    },
    async probe(client) {
      const r = await runClient(client, 'probe', url, {});
      return r.error ? r.error.split('\n')[0] : null;
    },
    measure: (client, sc, params) => (sc.tls
      ? runClient(client, sc.id, tlsUrl, { ...params, caPath: tlsFiles.cert })
      : runClient(client, sc.id, url, params)),
    // Gone before the server scenarios start, so it takes nothing from them.
    teardown: stopBenchServer,
  };
}

/** Waits for the bench server to be gone (and reaped) rather than leave a zombie. */
async function stopBenchServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    const gone = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
}

// ---------- statistics and formatting ----------
function int(v) {
  return Math.round(v).toLocaleString('en-US');
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function stats(xs) {
  return xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length } : null;
}
function pad(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '));
}
// Client scenarios name a CPU unit; server scenarios list their CPU columns.
const cpuCols = (sc) => (Array.isArray(sc.cpu) ? sc.cpu : [{ key: 'cpuUs', label: `CPU ${sc.cpu}` }]);
/** The peers of a scenario's ratio columns: those of the scenario (or its part) that run. */
const versus = (part, sc) => (sc.versus ?? part.versus).filter((b) => part.active.includes(b));
const SHORT = { ws: 'ws', 'ws+bufferutil': 'ws+bu', 'ws+arraybuffer': 'ws-ab', rust: 'rust', uws: 'uws' };

/** Table cells for one scenario: a block of columns per metric, then the CPU columns. */
function tableRows(part, sc, summary) {
  const head = [part.kind];
  for (const m of sc.metrics) head.push(`${m.label} median`, 'min–max', ...versus(part, sc).map((b) => `× ${SHORT[b] ?? b}`));
  for (const col of cpuCols(sc)) head.push(col.label);
  const rows = [head];
  for (const c of part.subjects) {
    const s = summary[c];
    const row = [label(c)];
    for (const m of sc.metrics) {
      const st = s?.metrics[m.key];
      if (!st) {
        row.push(s?.skipped ? part.skipWord : 'failed', '', ...versus(part, sc).map(() => ''));
        continue;
      }
      row.push(m.fmt(st.median), `${m.fmt(st.min)}–${m.fmt(st.max)}`);
      for (const b of versus(part, sc)) {
        const ratio = s.ratiosVs[b]?.[m.key];
        row.push(ratio == null ? '' : `${ratio.toFixed(2)}×`);
      }
    }
    for (const col of cpuCols(sc)) row.push(s?.cpuStats?.[col.key] ? s.cpuStats[col.key].median.toFixed(2) : '');
    rows.push(row);
  }
  return rows;
}

function betterNote(sc) {
  return sc.metrics.map((m) => `${m.label}: ${m.better} is better`).join('; ');
}

/** One line per target of the issue and subject of ours: our ratio against it. */
function targetLines(part, sc, summary) {
  const ours = part.subjects.filter((c) => baseOf(c) === 'ohos');
  return (sc.targets ?? []).flatMap((t) => ours.map((c) => {
    const m = sc.metrics.find((x) => x.key === t.metric);
    const r = summary[c]?.ratiosVs[t.vs]?.[t.metric];
    const verdict = r == null ? 'not measured' : (t.op === '>=' ? r >= t.value : r <= t.value) ? 'met' : 'MISSED';
    return `target: ${label(c)} ${m.label} ${t.op === '>=' ? '≥' : '≤'} ${t.value}× ${label(t.vs)}: ${r == null ? '–' : `${r.toFixed(2)}×`} (${verdict})`;
  }));
}

// ---------- main ----------
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  nofile: { soft: softNoFile, hard: hardNoFile },
  loadavgStart: os.loadavg().map((x) => +x.toFixed(2)),
};
const started = new Date();
const parts = [];
if (clients.length && scenarios.length) {
  parts.push({ ...clientPart(), subjects: clients, scenarios, skipWord: 'skipped', versus: CLIENT_VERSUS });
}
if (servers.length && serverScenarios.length) {
  const sp = serverPart({ root, timeoutMs: CHILD_TIMEOUT_MS, env: opt.env, children });
  parts.push({ ...sp, subjects: servers, scenarios: serverScenarios, skipWord: 'unavailable', versus: SERVER_VERSUS });
}
if (!parts.length) usage('nothing to run: no scenario matches the selected clients or servers');
const envNote = Object.keys(opt.env).length ? `, env ${Object.entries(opt.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
console.log(`bench: ${opt.quick ? 'QUICK smoke run' : 'full run'}, ${opt.rounds} rounds${envNote}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}, Node ${machine.node}, load ${machine.loadavgStart.join(' ')}`);

const maxConns = Math.max(...scenarios.filter((s) => s.id === 'f-conns').map((s) => (opt.quick ? s.quick : s.full).conns), 0);
if (parts.some((p) => p.kind === 'client') && maxConns && softNoFile < maxConns + 64 && hardNoFile < maxConns + 64) {
  console.log(`bench: ulimit -n is ${softNoFile} (hard ${hardNoFile}): too low for ${maxConns} connections, (f) will fail`);
}

const raw = {};
const errors = [];
const summaries = {};
for (const part of parts) {
  if (part.setup) console.log(`bench: ${await part.setup()}`);
  // A subject that cannot run here (undici on a too-old Node, a server API that does not
  // exist yet) is reported as such, not fatal.
  part.skipped = {};
  part.active = [];
  for (const c of part.subjects) {
    const why = await part.probe(c);
    if (why) {
      part.skipped[c] = why;
      console.log(`bench: ${part.kind} ${c} ${part.skipWord}: ${why}`);
    } else part.active.push(c);
  }
  if (!part.active.includes(BASELINE)) console.log(`bench: plain ws ${part.kind} is not running: no ratios`);

  for (const sc of part.scenarios) {
    const params = opt.quick ? sc.quick : sc.full;
    raw[sc.id] = Object.fromEntries(part.active.map((c) => [c, []]));
    process.stdout.write(`\n${sc.title(params)}\n  `);
    for (let round = 1; round <= opt.rounds * (sc.roundsFactor ?? 1); round++) {
      for (const c of part.active) {
        const r = await part.measure(c, sc, params);
        if (r.error) {
          errors.push({ scenario: sc.id, [part.kind]: c, round, error: r.error });
          process.stdout.write(`${c}:FAIL `);
        } else {
          raw[sc.id][c].push(r);
          process.stdout.write(`${c}✓ `);
        }
      }
    }
    process.stdout.write('\n');
    summaries[sc.id] = summarize(part, sc);
  }
  if (part.teardown) await part.teardown();
}

/** Medians over rounds, and ratios of medians to plain ws (and to the scenario's other
 * baselines). `ratios` (to ws) keeps the shape earlier latest.json files have. */
function summarize(part, sc) {
  const sum = {};
  for (const c of part.subjects) {
    if (part.skipped[c]) {
      sum[c] = { skipped: part.skipped[c], metrics: {}, ratios: {}, ratiosVs: {} };
      continue;
    }
    const runs = raw[sc.id][c];
    const metrics = {};
    for (const m of sc.metrics) {
      const st = stats(runs.map((r) => r.metrics[m.key]).filter(Number.isFinite));
      if (st) metrics[m.key] = st;
    }
    const cpuStats = Object.fromEntries(cpuCols(sc).map((col) => [col.key, stats(runs.map((r) => r[col.key]).filter(Number.isFinite))]));
    sum[c] = { metrics, ratios: {}, ratiosVs: {}, cpu: cpuStats.cpuUs, cpuStats, runs: runs.length };
  }
  // Ratios to plain ws always (the chart and `ratios` use them), to the others when they ran.
  for (const b of new Set([BASELINE, ...versus(part, sc)])) {
    for (const c of part.subjects) {
      const ratios = {};
      for (const m of sc.metrics) {
        const v = sum[c].metrics[m.key];
        const base = sum[b]?.metrics[m.key];
        ratios[m.key] = v && base && base.median > 0 ? v.median / base.median : null;
      }
      sum[c].ratiosVs[b] = ratios;
      if (b === BASELINE) sum[c].ratios = ratios;
    }
  }
  return sum;
}

machine.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));
const header = [
  `${opt.quick ? 'Quick smoke run' : 'Run'} of ${started.toISOString()}: ${opt.rounds} rounds${envNote}.`,
  ...parts.map((p) => (p.kind === 'client'
    ? `Client scenarios: clients alternating ${p.active.join(' → ')} against the Rust bench server${p.scenarios.some((sc) => sc.tls) ? " (wss: its rustls listener, a self-signed ECDSA P-256 certificate as each client's only trust anchor, added to Node's default roots for Node's WebSocket)" : ''}, each run a fresh process; CPU = client process CPU time (user + system, all threads).`
    : `Server scenarios: servers alternating ${p.active.join(' → ')}, each run a fresh server process loaded by the Rust load generator (its own process, sources 127.0.0.1–10); CPU = process CPU time of the server, and of the load generator.`)),
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}, Node ${machine.node}; load average ${machine.loadavgStart.join(' ')} at start, ${machine.loadavgEnd.join(' ')} at end.`,
  '× ws = median of the subject ÷ median of plain ws (ws without bufferutil); × ws+bu = ÷ median of ws + bufferutil; × ws-ab = ÷ median of ws with binaryType \'arraybuffer\'; × rust = ÷ median of the native tokio-tungstenite client (the ceiling); × uws = ÷ median of uWebSockets.js.',
];
console.log(`\n${header.join('\n')}`);
const md = [`${header.join('\n')}\n`];
for (const part of parts) {
  for (const sc of part.scenarios) {
    const params = opt.quick ? sc.quick : sc.full;
    const rows = tableRows(part, sc, summaries[sc.id]);
    const targets = targetLines(part, sc, summaries[sc.id]);
    console.log(`\n${sc.title(params)} — ${betterNote(sc)}`);
    for (const line of [...pad(rows), ...targets]) console.log(`  ${line}`);
    md.push(`\n**${sc.title(params)}** — ${betterNote(sc)}\n`);
    md.push(`| ${rows[0].join(' | ')} |`, `| ${rows[0].map((_, i) => (i ? '---:' : '---')).join(' | ')} |`);
    for (const r of rows.slice(1)) md.push(`| ${r.join(' | ')} |`);
    if (targets.length) md.push('', ...targets.map((t) => `- ${t}`));
  }
}
if (errors.length) {
  console.log('\nFailures:');
  for (const e of errors) console.log(`  ${e.scenario} ${e.client ?? e.server} round ${e.round}: ${e.error}`);
}
for (const part of parts) {
  for (const [c, why] of Object.entries(part.skipped)) console.log(`${part.kind} ${c} ${part.skipWord}: ${why}`);
}

// Chart: one group per (scenario, metric); bars are the advantage over ws, made
// "higher is better" everywhere (ws ÷ subject for times, latencies and memory).
const groups = [];
for (const part of parts) {
  for (const sc of part.scenarios) {
    sc.metrics.forEach((m, i) => {
      const values = {};
      for (const c of part.subjects) {
        const r = summaries[sc.id][c].ratios[m.key];
        values[c] = r == null ? null : m.better === 'higher' ? r : 1 / r;
      }
      groups.push({ label: sc.chart[i], values });
    });
  }
}
const seriesKeys = [...new Set(parts.flatMap((p) => p.subjects))];
const outDir = path.join(here, 'results');
mkdirSync(outDir, { recursive: true });
const subtitle = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${started.toISOString().slice(0, 10)}; median of ${opt.rounds} rounds${opt.quick ? ' (quick smoke run)' : ''}${envNote}`;
const chartFile = opt.out === 'latest' ? 'chart.svg' : `${opt.out}.svg`;
// The native client runs far off the Node clients' scale (tens of × ws): the axis is
// scaled to the others, and its bars are cut at the top with their value written in.
const CEILING = 'rust';
writeFileSync(path.join(outDir, chartFile), renderChart({
  title: 'ohos-net-websocket vs ws and others: advantage over plain ws (higher is better)',
  subtitle,
  groups,
  series: seriesKeys.map((c) => ({ key: c, label: label(c) })),
  scaleKeys: seriesKeys.filter((c) => baseOf(c) !== CEILING),
}));
writeFileSync(path.join(outDir, `${opt.out}.md`), `${md.join('\n')}\n`);
writeFileSync(path.join(outDir, `${opt.out}.json`), `${JSON.stringify({
  date: started.toISOString(),
  quick: opt.quick,
  rounds: opt.rounds,
  env: opt.env,
  machine,
  ...Object.fromEntries(parts.map((p) => [`${p.kind}s`, p.active])),
  skipped: Object.assign({}, ...parts.map((p) => p.skipped)),
  scenarios: parts.flatMap((part) => part.scenarios.map((sc) => ({
    id: sc.id,
    kind: part.kind,
    title: sc.title(opt.quick ? sc.quick : sc.full),
    params: opt.quick ? sc.quick : sc.full,
    metrics: sc.metrics.map((m) => ({ key: m.key, label: m.label, better: m.better })),
    cpu: cpuCols(sc),
    versus: versus(part, sc),
    targets: sc.targets ?? [],
    summary: summaries[sc.id],
    runs: raw[sc.id],
  }))),
  errors,
}, null, 2)}\n`);
console.log(`\nWrote ${path.relative(root, outDir)}/${opt.out}.json, ${opt.out}.md and ${chartFile}`);
killAll();
process.exit(errors.length ? 1 : 0);
