// `npm run bench`: every scenario of issue #5 for every client, each measurement in a
// fresh process (bench/client.mjs), clients alternating round by round so that slow
// drifts of a shared, noisy machine hit all of them alike. Prints one table per
// scenario (median, min–max, ratio of medians to plain `ws`, client CPU per message)
// and writes bench/results/latest.json, latest.md and chart.svg.
//
//   node bench/run.mjs [--quick] [--rounds N] [--clients ohos,ws,...] [--scenarios a-echo,...]
//
// Only ratios measured in one run mean anything: never compare figures across runs.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');

// ---------- options ----------
const argv = process.argv.slice(2);
const opt = { quick: false, rounds: 3, clients: null, scenarios: null };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  if (a === '--quick') opt.quick = true;
  else if (a === '--rounds') opt.rounds = Number(value());
  else if (a === '--clients') opt.clients = value().split(',');
  else if (a === '--scenarios') opt.scenarios = value().split(',');
  else usage(`unknown option ${a}`);
}
if (!Number.isInteger(opt.rounds) || opt.rounds < 1) usage('--rounds must be a positive integer');
function usage(msg) {
  console.error(`${msg}\nusage: node bench/run.mjs [--quick] [--rounds N] [--clients a,b] [--scenarios x,y]`);
  process.exit(2);
}

// ---------- what is measured ----------
const CLIENTS = ['ohos', 'ws', 'ws+bufferutil', 'undici'];
const BASELINE = 'ws';
const LABEL = { ohos: 'ohos-net-websocket', ws: 'ws', 'ws+bufferutil': 'ws + bufferutil', undici: 'undici WebSocket' };

const M = {
  rate: { key: 'rate', label: 'msgs/s', better: 'higher', fmt: (v) => int(v) },
  mbps: { key: 'mbps', label: 'MB/s', better: 'higher', fmt: (v) => int(v) },
  p50: { key: 'p50', label: 'p50 µs', better: 'lower', fmt: (v) => v.toFixed(1) },
  p99: { key: 'p99', label: 'p99 µs', better: 'lower', fmt: (v) => v.toFixed(1) },
  openMs: { key: 'openMs', label: 'all open, ms', better: 'lower', fmt: (v) => int(v) },
  rssKiB: { key: 'rssKiB', label: 'RSS KiB/conn', better: 'lower', fmt: (v) => v.toFixed(1) },
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
    full: { count: 500_000, size: 64 },
    quick: { count: 50_000, size: 64 },
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
];

const clients = opt.clients ?? CLIENTS;
const scenarios = opt.scenarios ? SCENARIOS.filter((s) => opt.scenarios.includes(s.id)) : SCENARIOS;
for (const c of clients) if (!CLIENTS.includes(c)) usage(`unknown client ${c}`);
if (opt.scenarios) for (const s of opt.scenarios) if (!SCENARIOS.some((x) => x.id === s)) usage(`unknown scenario ${s}`);
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
// A no-op taking well under a second when the server is up to date.
const manifest = path.join(here, 'server', 'Cargo.toml');
if (!existsSync(path.join(here, 'server', 'target', 'release', 'bench-server'))) {
  console.log('bench: building the bench server (first time: about a minute)...');
}
sh('cargo', ['build', '--release', '--quiet', '--manifest-path', manifest], 'building bench/server');

const hardNoFile = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || Infinity;
const softNoFile = Number(spawnSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).stdout.trim()) || Infinity;

async function startServer() {
  // Rust does not raise its soft descriptor limit (Node does, at start-up): do it for
  // the server so that (f) is not limited on its side by a low soft limit.
  const bin = path.join(here, 'server', 'target', 'release', 'bench-server');
  server = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0"', bin], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not report its port')), 10_000);
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    server.on('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  server.stdout.resume();
  return `ws://127.0.0.1:${port}`;
}

/** Runs one client process; resolves with its JSON line, or { error }. */
function runClient(client, scenario, url, params) {
  const env = { ...process.env };
  // Plain `ws` must not pick up bufferutil; the other variant must be able to.
  if (client === 'ws') env.WS_NO_BUFFER_UTIL = '1';
  else delete env.WS_NO_BUFFER_UTIL;
  const args = ['--expose-gc', path.join(here, 'client.mjs'), client, scenario, url,
    JSON.stringify({ ...params, timeoutMs: CHILD_TIMEOUT_MS - 2000 })];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const line = out.trim().split('\n').pop();
      try {
        const r = JSON.parse(line);
        if (r.error || code === 0) return resolve(r);
      } catch {
        // no JSON: reported below
      }
      const why = signal ? `killed (${signal}${signal === 'SIGKILL' ? ', timeout' : ''})` : `exit ${code}`;
      resolve({ error: `${why}: ${(err || out).trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
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

/** Table cells for one scenario: a block of columns per metric, then client CPU. */
function tableRows(sc, summary) {
  const head = ['client'];
  for (const m of sc.metrics) head.push(`${m.label} median`, 'min–max', '× ws');
  head.push(`CPU ${sc.cpu}`);
  const rows = [head];
  for (const c of clients) {
    const s = summary[c];
    const row = [LABEL[c]];
    for (const m of sc.metrics) {
      const st = s?.metrics[m.key];
      if (!st) {
        row.push(s?.skipped ? 'skipped' : 'failed', '', '');
        continue;
      }
      const ratio = s.ratios[m.key];
      row.push(m.fmt(st.median), `${m.fmt(st.min)}–${m.fmt(st.max)}`, ratio == null ? '' : `${ratio.toFixed(2)}×`);
    }
    row.push(s?.cpu ? s.cpu.median.toFixed(2) : '');
    rows.push(row);
  }
  return rows;
}

function betterNote(sc) {
  return sc.metrics.map((m) => `${m.label}: ${m.better} is better`).join('; ');
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
const url = await startServer();
console.log(`bench: ${opt.quick ? 'QUICK smoke run' : 'full run'}, ${opt.rounds} rounds, server ${url}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}, Node ${machine.node}, load ${machine.loadavgStart.join(' ')}`);

// A client that cannot run here (e.g. undici on a too-old Node) is skipped, not fatal.
const skipped = {};
const active = [];
for (const c of clients) {
  const r = await runClient(c, 'probe', url, {});
  if (r.error) {
    skipped[c] = r.error.split('\n')[0];
    console.log(`bench: skipping ${c}: ${skipped[c]}`);
  } else active.push(c);
}
if (!active.includes(BASELINE)) console.log('bench: plain ws is not running: no ratios');

const maxConns = Math.max(...scenarios.filter((s) => s.id === 'f-conns').map((s) => (opt.quick ? s.quick : s.full).conns), 0);
if (maxConns && softNoFile < maxConns + 64 && hardNoFile < maxConns + 64) {
  console.log(`bench: ulimit -n is ${softNoFile} (hard ${hardNoFile}): too low for ${maxConns} connections, (f) will fail`);
}

const raw = {};
const errors = [];
for (const sc of scenarios) {
  const params = opt.quick ? sc.quick : sc.full;
  raw[sc.id] = Object.fromEntries(active.map((c) => [c, []]));
  process.stdout.write(`\n${sc.title(params)}\n  `);
  for (let round = 1; round <= opt.rounds; round++) {
    for (const c of active) {
      const r = await runClient(c, sc.id, url, params);
      if (r.error) {
        errors.push({ scenario: sc.id, client: c, round, error: r.error });
        process.stdout.write(`${c}:FAIL `);
      } else {
        raw[sc.id][c].push(r);
        process.stdout.write(`${c}✓ `);
      }
    }
  }
  process.stdout.write('\n');
}

// Summaries and ratios of medians to plain ws.
const summaries = {};
for (const sc of scenarios) {
  const sum = {};
  for (const c of clients) {
    if (skipped[c]) {
      sum[c] = { skipped: skipped[c], metrics: {}, ratios: {} };
      continue;
    }
    const runs = raw[sc.id][c];
    const metrics = {};
    for (const m of sc.metrics) {
      const st = stats(runs.map((r) => r.metrics[m.key]).filter(Number.isFinite));
      if (st) metrics[m.key] = st;
    }
    sum[c] = { metrics, ratios: {}, cpu: stats(runs.map((r) => r.cpuUs)), runs: runs.length };
  }
  const base = sum[BASELINE];
  for (const c of clients) {
    for (const m of sc.metrics) {
      const v = sum[c].metrics[m.key];
      const b = base?.metrics[m.key];
      sum[c].ratios[m.key] = v && b && b.median > 0 ? v.median / b.median : null;
    }
  }
  summaries[sc.id] = sum;
}

machine.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));
const header = [
  `${opt.quick ? 'Quick smoke run' : 'Run'} of ${started.toISOString()}: ${opt.rounds} rounds, clients alternating ${active.join(' → ')}, each run a fresh process.`,
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}, Node ${machine.node}; load average ${machine.loadavgStart.join(' ')} at start, ${machine.loadavgEnd.join(' ')} at end.`,
  '× ws = median of the client ÷ median of plain ws (ws without bufferutil). CPU = client process CPU time (user + system, all threads).',
];
console.log(`\n${header.join('\n')}`);
const md = [`${header.join('\n')}\n`];
for (const sc of scenarios) {
  const params = opt.quick ? sc.quick : sc.full;
  const rows = tableRows(sc, summaries[sc.id]);
  console.log(`\n${sc.title(params)} — ${betterNote(sc)}`);
  for (const line of pad(rows)) console.log(`  ${line}`);
  md.push(`\n**${sc.title(params)}** — ${betterNote(sc)}\n`);
  md.push(`| ${rows[0].join(' | ')} |`, `| ${rows[0].map((_, i) => (i ? '---:' : '---')).join(' | ')} |`);
  for (const r of rows.slice(1)) md.push(`| ${r.join(' | ')} |`);
}
if (errors.length) {
  console.log('\nFailures:');
  for (const e of errors) console.log(`  ${e.scenario} ${e.client} round ${e.round}: ${e.error}`);
}
for (const [c, why] of Object.entries(skipped)) console.log(`Skipped ${c}: ${why}`);

// Chart: one group per (scenario, metric); bars are the advantage over ws, made
// "higher is better" everywhere (ws ÷ client for times, latencies and memory).
const groups = [];
for (const sc of scenarios) {
  sc.metrics.forEach((m, i) => {
    const values = {};
    for (const c of clients) {
      const r = summaries[sc.id][c].ratios[m.key];
      values[c] = r == null ? null : m.better === 'higher' ? r : 1 / r;
    }
    groups.push({ label: sc.chart[i], values });
  });
}
const outDir = path.join(here, 'results');
mkdirSync(outDir, { recursive: true });
const subtitle = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${started.toISOString().slice(0, 10)}; median of ${opt.rounds} rounds${opt.quick ? ' (quick smoke run)' : ''}`;
writeFileSync(path.join(outDir, 'chart.svg'), renderChart({
  title: 'ohos-net-websocket vs ws and others: advantage over plain ws (higher is better)',
  subtitle,
  groups,
  series: clients.map((c) => ({ key: c, label: LABEL[c] })),
}));
writeFileSync(path.join(outDir, 'latest.md'), `${md.join('\n')}\n`);
writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify({
  date: started.toISOString(),
  quick: opt.quick,
  rounds: opt.rounds,
  machine,
  clients: active,
  skipped,
  scenarios: scenarios.map((sc) => ({
    id: sc.id,
    title: sc.title(opt.quick ? sc.quick : sc.full),
    params: opt.quick ? sc.quick : sc.full,
    metrics: sc.metrics.map((m) => ({ key: m.key, label: m.label, better: m.better })),
    cpuUnit: sc.cpu,
    summary: summaries[sc.id],
    runs: raw[sc.id],
  })),
  errors,
}, null, 2)}\n`);
console.log(`\nWrote ${path.relative(root, outDir)}/latest.json, latest.md and chart.svg`);
// Wait for the server to be gone (and reaped) rather than leave a zombie behind us.
if (server.exitCode === null && server.signalCode === null) {
  const gone = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 2000))]);
}
killAll();
process.exit(errors.length ? 1 : 0);
