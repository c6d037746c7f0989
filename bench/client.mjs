// One measurement in a fresh process, so that no client inherits another's JIT state,
// heap or native threads. Spawned by bench/run.mjs:
//
//   node --expose-gc bench/client.mjs <client> <scenario> <ws://host:port | wss://host:port> '<params JSON>'
//
// (The native client, `rust`, is bench/server/src/bin/native-client.rs: the same
// scenarios and the same JSON line, without Node.)
//
// Prints one JSON line on stdout: { client, scenario, metrics: {...}, cpuUs, ... }, or
// { error } with exit code 1. CPU time is process.cpuUsage() (user + system, every
// thread of the process — the addon's I/O thread included) over the measured interval,
// divided by the number of messages (or connections for scenarios f and h).
//
// For wss, params.caPath names the PEM certificate of the bench server (self-signed, made
// by run.mjs): every client trusts it the way its own API offers, and only it.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [clientName, scenario, baseUrl, paramsJson = '{}'] = process.argv.slice(2);
const params = JSON.parse(paramsJson);

function fail(err) {
  const message = err && err.message ? err.message : JSON.stringify(err);
  process.stdout.write(`${JSON.stringify({ client: clientName, scenario, error: String(message) })}\n`);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
// The parent kills us at its own deadline; this one lets us say why first.
setTimeout(() => fail(new Error(`client timeout after ${params.timeoutMs} ms`)), params.timeoutMs ?? 60_000).unref();

// Each adapter opens one connection and calls h.open(), h.message(data), h.close(code),
// h.error(err). Text is delivered as a string and binary as bytes by every adapter, so
// every client does the work an application needs before it can use a message.
// `caPath` (wss only, else undefined) is set up once per process, outside any measurement.
const ADAPTERS = {
  ohos(caPath) {
    const webSocket = require('../index.js');
    // caPath: the certificates in that file become the only trust anchors (spec R27).
    const options = caPath ? { caPath } : undefined;
    return (url, h) => {
      const ws = webSocket.createWebSocket();
      ws.on('open', () => h.open());
      ws.on('message', (_err, data) => h.message(data));
      ws.on('close', (_err, v) => h.close(v.code));
      ws.on('error', (err) => h.error(err));
      if (options) ws.connect(url, options);
      else ws.connect(url);
      return { send: (d) => ws.send(d), close: () => ws.close() };
    };
  },
  ws(caPath) {
    // run.mjs sets WS_NO_BUFFER_UTIL=1 for plain `ws`; `ws+bufferutil` runs without it.
    const WebSocket = require('ws');
    // ws loads bufferutil at require time when it can; check which variant we really got.
    const withBufferUtil = Object.keys(require.cache).some((k) => k.includes(`${'/'}bufferutil${'/'}`));
    if (withBufferUtil !== (clientName === 'ws+bufferutil')) {
      fail(new Error(withBufferUtil ? 'bufferutil loaded for plain ws' : 'ws did not load bufferutil'));
    }
    // ws hands `ca` to Node's tls.connect; like caPath, it replaces the default roots.
    const ca = caPath ? readFileSync(caPath) : undefined;
    return (url, h) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ca });
      // The output type this addon has to produce (R59): one ArrayBuffer per message.
      if (clientName === 'ws+arraybuffer') ws.binaryType = 'arraybuffer';
      ws.on('open', () => h.open());
      // ws hands text over as a Buffer; the string is what the other clients deliver.
      ws.on('message', (data, isBinary) => h.message(isBinary ? data : data.toString()));
      ws.on('close', (code) => h.close(code));
      ws.on('error', (err) => h.error(err));
      return { send: (d) => ws.send(d), close: () => ws.close() };
    };
  },
  undici(caPath) {
    const { Agent, WebSocket } = require('undici');
    // One dispatcher for the process, as an application would keep one: its connector
    // verifies against `ca` only. (Its TLS session cache resumes nothing here: the bench
    // server sees only full handshakes from it, see run.mjs (h).)
    const dispatcher = caPath ? new Agent({ connect: { ca: readFileSync(caPath) } }) : undefined;
    return browserApi(WebSocket, dispatcher ? { dispatcher } : undefined, 'undici WebSocket');
  },
  node(caPath) {
    // Node's own global WebSocket (the undici bundled with Node): from Node 22 on, behind
    // --experimental-websocket on Node 20 (run.mjs passes it, see subjects.mjs).
    if (typeof globalThis.WebSocket !== 'function') {
      fail(new Error(`Node ${process.version} has no built-in WebSocket (global from Node 22, behind --experimental-websocket on Node 20)`));
    }
    // It takes no TLS options, and Node exports no dispatcher to give it one: it trusts
    // Node's default roots, to which run.mjs adds the run's certificate through
    // NODE_EXTRA_CA_CERTS (read at start-up). Without it, wss cannot be measured.
    if (caPath && process.env.NODE_EXTRA_CA_CERTS !== caPath) {
      fail(new Error("NODE_EXTRA_CA_CERTS does not name the run's certificate"));
    }
    return browserApi(globalThis.WebSocket, undefined, 'Node WebSocket');
  },
};

/** An adapter for the WHATWG WebSocket API (undici's, Node's). */
function browserApi(WebSocket, init, name) {
  return (url, h) => {
    const ws = init ? new WebSocket(url, init) : new WebSocket(url);
    // The default 'blob' would make every binary message an async read.
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => h.open();
    ws.onmessage = (ev) => h.message(ev.data);
    ws.onclose = (ev) => h.close(ev.code);
    ws.onerror = (ev) => h.error(ev.error ?? new Error(`${name} error`));
    return { send: (d) => ws.send(d), close: () => ws.close() };
  };
}
ADAPTERS['ws+bufferutil'] = ADAPTERS.ws;
ADAPTERS['ws+arraybuffer'] = ADAPTERS.ws;

if (!ADAPTERS[clientName]) fail(new Error(`unknown client ${clientName}`));
const open = ADAPTERS[clientName](params.caPath);

const now = () => performance.now();
const cpuMicros = (c0) => {
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};
const byteLength = (d) => (typeof d === 'string' ? d.length : d.byteLength);

function done(result) {
  process.stdout.write(`${JSON.stringify({ client: clientName, scenario, ...result })}\n`);
  process.exit(0);
}

/** Closes `conn`, then reports; a peer that never answers the close does not hold us. */
function closeThenReport(conn, state, result) {
  state.onClose = () => done(result);
  conn.close();
  setTimeout(() => done(result), 2000).unref();
}

/** One connection with the usual handlers; `on.message` is the scenario's logic. */
function single(path, on) {
  const state = { onClose: null };
  let conn = null;
  conn = open(baseUrl + path, {
    open: () => on.open(conn),
    message: (d) => on.message(d, conn),
    close: (code) => {
      if (state.onClose) state.onClose();
      else fail(new Error(`closed early (code ${code})`));
    },
    error: (err) => fail(err),
  });
  return state;
}

// (a), (c): echo with at most `window` messages in flight.
function echoWindow({ count, size, window, binary }) {
  const payload = binary ? new ArrayBuffer(size) : 'x'.repeat(size);
  let sent = 0;
  let got = 0;
  let t0 = 0;
  let c0;
  const state = single('/echo', {
    open(conn) {
      t0 = now();
      c0 = process.cpuUsage();
      pump(conn);
    },
    message(d, conn) {
      if (byteLength(d) !== size || (typeof d === 'string') === binary) fail(new Error('wrong echo'));
      got++;
      if (got < count) return pump(conn);
      const secs = (now() - t0) / 1000;
      const cpu = cpuMicros(c0);
      const metrics = binary ? { mbps: (count * size) / 1e6 / secs } : { rate: count / secs };
      closeThenReport(conn, state, { metrics, cpuUs: cpu / count, seconds: secs });
    },
  });
  function pump(conn) {
    while (sent < count && sent - got < window) {
      conn.send(payload);
      sent++;
    }
  }
}

// (b): one message in flight; the first `warmup` round trips are not recorded (JIT).
function latency({ count, warmup, size }) {
  const payload = 'x'.repeat(size);
  const samples = new Float64Array(count);
  let i = -warmup;
  let t = 0;
  let t0 = 0;
  let c0;
  const state = single('/echo', {
    open(conn) {
      t = now();
      conn.send(payload);
    },
    message(_d, conn) {
      const t1 = now();
      if (i >= 0) samples[i] = (t1 - t) * 1000;
      i++;
      if (i === 0) {
        t0 = t1;
        c0 = process.cpuUsage();
      }
      if (i < count) {
        t = now();
        conn.send(payload);
        return;
      }
      const cpu = cpuMicros(c0);
      const secs = (now() - t0) / 1000;
      samples.sort();
      const pct = (p) => samples[Math.min(count - 1, Math.floor((p / 100) * count))];
      closeThenReport(conn, state, { metrics: { p50: pct(50), p99: pct(99) }, cpuUs: cpu / count, seconds: secs });
    },
  });
}

// (d), (g): the server pushes; measured from 'open' to the "END" message. With
// `busyUs`, the listener spends that long per message (a slow consumer, (g)), and the
// peak RSS of this process is reported.
function receive({ count, size, binary, busyUs = 0 }) {
  const busyNs = BigInt(Math.round(busyUs * 1000));
  let got = 0;
  let t0 = 0;
  let c0;
  const state = single(`/push?count=${count}&size=${size}&binary=${binary ? 1 : 0}`, {
    open() {
      t0 = now();
      c0 = process.cpuUsage();
    },
    message(d, conn) {
      if (typeof d === 'string' && d === 'END') {
        const secs = (now() - t0) / 1000;
        const cpu = cpuMicros(c0);
        if (got !== count) fail(new Error(`received ${got} of ${count}`));
        const metrics = { rate: count / secs };
        if (busyUs > 0) metrics.peakMiB = process.resourceUsage().maxRSS / 1024;
        closeThenReport(conn, state, { metrics, cpuUs: cpu / count, seconds: secs });
        return;
      }
      if (busyNs > 0n) {
        const until = process.hrtime.bigint() + busyNs;
        while (process.hrtime.bigint() < until);
      }
      if (byteLength(d) !== size || (typeof d === 'string') === binary) fail(new Error('wrong push message'));
      got++;
    },
  });
}

// (e): send-only to the sink, in bursts of `burst` per macrotask so the producer yields
// to I/O as a real one would; measured until "COUNT" arrives.
function send({ count, size, burst }) {
  const payload = 'x'.repeat(size);
  let t0 = 0;
  let c0;
  const state = single('/sink', {
    open(conn) {
      t0 = now();
      c0 = process.cpuUsage();
      let sent = 0;
      const produce = () => {
        const end = Math.min(count, sent + burst);
        for (; sent < end; sent++) conn.send(payload);
        if (sent < count) setImmediate(produce);
        else conn.send('END');
      };
      produce();
    },
    message(d, conn) {
      if (typeof d !== 'string' || !d.startsWith('COUNT ')) fail(new Error('unexpected sink reply'));
      const secs = (now() - t0) / 1000;
      const cpu = cpuMicros(c0);
      const n = Number(d.slice(6));
      if (n !== count) fail(new Error(`sink counted ${n} of ${count}`));
      closeThenReport(conn, state, { metrics: { rate: count / secs }, cpuUs: cpu / count, seconds: secs });
    },
  });
}

// (f): `conns` connections started in one synchronous burst; time until every 'open',
// and the RSS growth they cost (both sides of the interval after a full GC).
function connections({ conns }) {
  if (typeof gc !== 'function') fail(new Error('run with --expose-gc'));
  gc();
  const rss0 = process.memoryUsage().rss;
  const all = [];
  let opened = 0;
  let closed = 0;
  let closing = false;
  let result = null;
  const t0 = now();
  const c0 = process.cpuUsage();
  for (let k = 0; k < conns; k++) {
    let conn = null;
    conn = open(`${baseUrl}/echo`, {
      open: () => {
        opened++;
        if (opened === conns) allOpen();
      },
      message: () => {},
      close: () => {
        closed++;
        if (!closing) fail(new Error('a connection closed early'));
        if (closed === conns) done(result);
      },
      error: (err) => fail(err),
    });
    all.push(conn);
  }
  function allOpen() {
    const ms = now() - t0;
    const cpu = cpuMicros(c0);
    gc();
    gc();
    const rss1 = process.memoryUsage().rss;
    result = {
      metrics: { openMs: ms, rssKiB: (rss1 - rss0) / 1024 / conns },
      cpuUs: cpu / conns,
      rssBeforeMiB: rss0 / 2 ** 20,
      rssAfterMiB: rss1 / 2 ** 20,
    };
    closing = true;
    for (const c of all) c.close();
    setTimeout(() => done({ ...result, closedOf: `${closed}/${conns}` }), 10_000).unref();
  }
}

// (h): `count` connections (after `warmup` more), `concurrency` at a time, each opened,
// one `size` B text echoed and closed; the next one starts on the previous one's 'close',
// so a connection's whole life — TCP, TLS and WebSocket handshakes, the close handshake —
// is in the rate.
function handshakes({ count, warmup, size, concurrency }) {
  const payload = 'x'.repeat(size);
  const total = warmup + count;
  let started = 0;
  let finished = 0;
  let t0 = now();
  let c0 = process.cpuUsage();
  const next = () => {
    if (started === total) return;
    started++;
    let echoed = false;
    let conn = null;
    conn = open(`${baseUrl}/echo`, {
      open: () => conn.send(payload),
      message: (d) => {
        if (d !== payload) fail(new Error('wrong echo'));
        echoed = true;
        conn.close();
      },
      close: (code) => {
        if (!echoed) fail(new Error(`closed before the echo (code ${code})`));
        finished++;
        if (finished === warmup) {
          t0 = now();
          c0 = process.cpuUsage();
        }
        if (finished < total) return next();
        const secs = (now() - t0) / 1000;
        done({ metrics: { connRate: count / secs }, cpuUs: cpuMicros(c0) / count, seconds: secs });
      },
      error: (err) => fail(err),
    });
  };
  for (let k = 0; k < concurrency; k++) next();
}

// Proves a client can connect, echo both message types and close (run.mjs skips a
// client that fails this, e.g. an undici that does not run on this Node).
function probe() {
  const buf = new ArrayBuffer(3);
  let step = 0;
  const state = single('/echo', {
    open(conn) {
      conn.send('hi');
    },
    message(d, conn) {
      step++;
      if (step === 1) {
        if (d !== 'hi') fail(new Error('text echo mismatch'));
        conn.send(buf);
      } else {
        if (typeof d === 'string' || d.byteLength !== 3) fail(new Error('binary echo mismatch'));
        closeThenReport(conn, state, { metrics: {}, cpuUs: 0 });
      }
    },
  });
}

const SCENARIOS = {
  probe,
  'a-echo': () => echoWindow({ ...params, binary: false }),
  'b-latency': () => latency(params),
  'c-64k': () => echoWindow({ ...params, binary: true }),
  'c-1m': () => echoWindow({ ...params, binary: true }),
  'd-text': () => receive({ ...params, binary: false }),
  'd-binary': () => receive({ ...params, binary: true }),
  'g-slow': () => receive({ ...params, binary: true }),
  'e-sink': () => send(params),
  'f-conns': () => connections(params),
  // The same logic over wss (run.mjs passes the TLS URL and params.caPath).
  'a-echo-tls': () => echoWindow({ ...params, binary: false }),
  'b-latency-tls': () => latency(params),
  'c-64k-tls': () => echoWindow({ ...params, binary: true }),
  'h-handshake-tls': () => handshakes(params),
};
if (!SCENARIOS[scenario]) fail(new Error(`unknown scenario ${scenario}`));
SCENARIOS[scenario]();
