// The server half of `npm run bench` (imported by bench/run.mjs): scenarios s1–s4 of
// issue #8 and how one of them is measured. Each measurement starts a fresh server app
// (bench/server-app.mjs: ours, `ws`, `ws` + bufferutil or uWebSockets.js) and drives it with the Rust
// load generator (bench/server/src/bin/loadgen.rs) from a second process, so the load
// never runs in the process under test. Both are killed when the measurement ends.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastJson, runJsonChild, tail } from './json-child.mjs';
import { childEnv, parseSubject } from './subjects.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOADGEN = path.join(here, 'server', 'target', 'release', 'loadgen');

export const SERVERS = ['ohos', 'ws', 'ws+bufferutil', 'uws'];
// The peers every server scenario is divided by (a column each, when the peer ran).
export const SERVER_VERSUS = ['ws', 'ws+bufferutil', 'uws'];

const int = (v) => Math.round(v).toLocaleString('en-US');
const metric = (key, label, better, fmt) => ({ key, label, better, fmt });
const M = {
  rate: metric('rate', 'msgs/s', 'higher', int),
  deliveries: metric('rate', 'deliveries/s', 'higher', int),
  mbps: metric('mbps', 'MB/s', 'higher', int),
  openMs: metric('openMs', 'all open, ms', 'lower', (v) => v.toFixed(1)),
  rssKiB: metric('rssKiB', 'server RSS KiB/conn', 'lower', (v) => v.toFixed(1)),
  heapKiB: metric('heapKiB', 'JS heap KiB/conn', 'lower', (v) => v.toFixed(1)),
};
const cpuCols = (unit) => [
  { key: 'cpuUs', label: `server CPU ${unit}` },
  { key: 'loadgenCpuUs', label: `loadgen CPU ${unit}` },
];

// Connection counts are the same for every server; 100 is all that S4.3 allows (10 source
// IPs × 10). `window` is per connection. A full run of plain ws takes ~2–3 s here.
export const SERVER_SCENARIOS = [
  {
    id: 's1-echo',
    title: (p) => `(s1) server echo, ${p.conns} connections, ${int(p.count)} × ${p.size} B text, ≤ ${p.window} in flight each`,
    metrics: [M.rate],
    chart: ['(s1) echo'],
    cpu: cpuCols('µs/msg'),
    targets: [{ metric: 'rate', vs: 'ws', op: '>=', value: 3 }],
    full: { conns: 50, count: 300_000, size: 32, window: 100 },
    quick: { conns: 50, count: 20_000, size: 32, window: 100 },
    metricsOf: (r) => ({ rate: r.rate }),
  },
  {
    id: 's2-fanout',
    title: (p) => `(s2) server fan-out, ${p.rounds} rounds of one ${p.size} B text to each of ${p.conns} connections (yield between rounds)`,
    metrics: [M.deliveries],
    chart: ['(s2) fan-out'],
    cpu: cpuCols('µs/delivery'),
    targets: [{ metric: 'rate', vs: 'ws', op: '>=', value: 1.5 }],
    full: { conns: 100, rounds: 3000, size: 64 },
    quick: { conns: 100, rounds: 200, size: 64 },
    metricsOf: (r) => ({ rate: r.rate }),
  },
  {
    id: 's3-large',
    title: (p) => `(s3) server echo, ${p.conns} connections, ${int(p.count)} × 64 KiB binary, ≤ ${p.window} in flight each (MB/s of echoed payload)`,
    metrics: [M.mbps],
    chart: ['(s3) 64 KiB'],
    cpu: cpuCols('µs/msg'),
    targets: [{ metric: 'mbps', vs: 'ws+bufferutil', op: '>=', value: 1.3 }],
    full: { conns: 2, count: 10_000, size: 65_536, window: 8, binary: 1 },
    quick: { conns: 2, count: 500, size: 65_536, window: 8, binary: 1 },
    metricsOf: (r) => ({ mbps: r.mbps }),
  },
  {
    id: 's4-open',
    title: (p) => `(s4) ${p.conns} connections to the server, opened at once (RSS of the server process and its JS heap in use, both after GC; 3 runs per round)`,
    // The JS heap share tells where a server's memory per connection lives; RSS grows
    // in whole pages (V8's by 256 KiB), so one run is ±2.6 KiB/conn at 100 connections.
    metrics: [M.openMs, M.rssKiB, M.heapKiB],
    // A run lasts well under a second and its figures are coarse: take three times as many.
    roundsFactor: 3,
    chart: ['(s4) open time', '(s4) RSS/conn', '(s4) JS heap/conn'],
    cpu: cpuCols('µs/conn'),
    targets: [
      { metric: 'openMs', vs: 'ws', op: '<=', value: 0.5 },
      { metric: 'rssKiB', vs: 'ws', op: '<=', value: 0.6 },
    ],
    full: { conns: 100 },
    quick: { conns: 100 },
    metricsOf: (r) => ({
      openMs: r.openMs,
      rssKiB: (r.rssAfter - r.rssBefore) / 1024 / r.conns,
      heapKiB: (r.heapAfter - r.heapBefore) / 1024 / r.conns,
    }),
  },
];

/**
 * @param {{ root: string, timeoutMs: number, env: Record<string,string>,
 *           children: Set<import('node:child_process').ChildProcess> }} o
 *   children: every process started is added while it lives (the runner kills them all
 *   if it is interrupted); env: extra environment for the server apps (--env).
 */
export function serverPart({ root, timeoutMs, env: extraEnv, children }) {
  /** Starts the app for `server`; resolves { app, port, output() } or { error }. */
  function startApp(server) {
    const env = childEnv(server, extraEnv);
    const impl = parseSubject(server).base;
    const args = ['--expose-gc', path.join(here, 'server-app.mjs'), impl, String(timeoutMs + 10_000)];
    // stdin stays an open pipe: the app exits when it closes, i.e. when we are gone.
    const app = spawn(process.execPath, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(app);
    app.on('exit', () => children.delete(app));
    let out = '';
    let err = '';
    app.stdout.on('data', (d) => { out += d; });
    app.stderr.on('data', (d) => { err += d; });
    const output = () => tail(lastJson(out)?.error ?? (err || out));
    return new Promise((resolve) => {
      // Once the port is known, the later calls of these are no-ops.
      const fail = (error) => {
        clearTimeout(timer);
        app.kill('SIGKILL');
        resolve({ error });
      };
      const timer = setTimeout(() => fail('server app did not report its port within 20 s'), 20_000);
      const onData = () => {
        const m = /^(\d+)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          app.stdout.off('data', onData);
          resolve({ app, port: Number(m[1]), output });
        } else if (out.includes('\n')) fail(output());
      };
      app.stdout.on('data', onData);
      app.on('error', (e) => fail(`server app: ${e.message}`));
      // 'close', not 'exit': by then the app's last words are read.
      app.on('close', (code, signal) => fail(`server app exited (${signal ?? code}) before listening: ${output()}`));
    });
  }

  /** Ends the app: SIGTERM, then SIGKILL if it has not exited after 2 s. */
  async function stopApp(app) {
    if (app.exitCode !== null || app.signalCode !== null) return;
    const gone = new Promise((resolve) => app.once('exit', resolve));
    app.kill('SIGTERM');
    const late = setTimeout(() => app.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(late);
  }

  /** Runs the load generator; resolves its JSON line, or { error }. */
  async function loadgen(scenario, port, pid, params) {
    const args = [scenario, `port=${port}`, `server_pid=${pid}`, `timeout_ms=${timeoutMs - 2000}`];
    for (const [k, v] of Object.entries(params)) args.push(`${k}=${v}`);
    const r = await runJsonChild(LOADGEN, args, { cwd: root, timeoutMs, children });
    return r.error ? { ...r, error: `loadgen: ${r.error}` } : r;
  }

  /** One scenario (or 'probe') against a fresh app; { metrics, cpuUs, ... } or { error }. */
  async function measure(server, sc, params) {
    const started = await startApp(server);
    if (started.error) return { error: started.error };
    const { app, port, output } = started;
    try {
      const r = await loadgen(sc ? sc.id : 'probe', port, app.pid, params);
      if (r.error) {
        // A crashed app explains a failed load better than the load does.
        const died = app.exitCode !== null || app.signalCode !== null;
        return { error: died ? `server app died (${output()}); ${r.error}` : r.error };
      }
      if (!sc) return { metrics: {} };
      return { metrics: sc.metricsOf(r), cpuUs: r.serverCpuUs, loadgenCpuUs: r.loadgenCpuUs, raw: r };
    } finally {
      await stopApp(app);
    }
  }

  return {
    kind: 'server',
    /** null when `server` can run here, else why not (e.g. no createWebSocketServer). */
    async probe(server) {
      const r = await measure(server, null, {});
      return r.error ?? null;
    },
    measure,
  };
}
