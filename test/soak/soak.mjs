// Soak and leak check (issue #4): connect/close cycles, a long message stream over one
// connection, and worker threads that load the addon, connect, echo and exit. Prints RSS
// and the number of active handles at start / middle / end of each phase; a plateau is
// the expected shape. Not part of `npm test` (it takes minutes). Usage:
//   node --expose-gc test/soak/soak.mjs [--cycles 10000] [--messages 1000000] [--workers 100]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import webSocket from '../../index.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10000' },
    messages: { type: 'string', default: '1000000' },
    workers: { type: 'string', default: '100' },
  },
});
const CYCLES = Number(values.cycles);
const MESSAGES = Number(values.messages);
const WORKERS = Number(values.workers);

// The echo server runs in its own process so its memory is not counted as ours.
const serverScript = fileURLToPath(new URL('../../bench/echo-server.mjs', import.meta.url));
const server = spawn(process.execPath, [serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = await once(server.stdout, 'data');
const url = `ws://127.0.0.1:${String(portLine).trim()}`;

function snapshot(label) {
  if (globalThis.gc) globalThis.gc();
  const rssMiB = process.memoryUsage().rss / 1048576;
  const handles = process.getActiveResourcesInfo().length;
  const line = { label, rssMiB: Number(rssMiB.toFixed(1)), handles };
  console.log(JSON.stringify(line));
  return line;
}

/** Connects, sends `count` messages (≤ 1000 in flight), waits for every echo, closes. */
function session(ws, count) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let got = 0;
    const pump = () => {
      while (sent < count && sent - got < 1000) {
        ws.send(sent % 2 ? 'soak message' : new ArrayBuffer(16));
        sent++;
      }
    };
    ws.on('open', () => (count === 0 ? ws.close() : pump()));
    ws.on('message', () => {
      got++;
      if (got === count) ws.close();
      else pump();
    });
    ws.on('close', () => resolve());
    ws.on('error', (err) => reject(new Error(`error event: ${err.detail ?? JSON.stringify(err)}`)));
    ws.connect(url).catch(reject);
  });
}

const results = {};

// Phase 1: connect/close cycles on one object (reconnect, R25) — one message each.
{
  const ws = webSocket.createWebSocket();
  const marks = [snapshot('cycles: start')];
  for (let i = 1; i <= CYCLES; i++) {
    await session(ws, 1);
    if (i === Math.floor(CYCLES / 2)) marks.push(snapshot(`cycles: ${i}`));
  }
  marks.push(snapshot(`cycles: ${CYCLES} (end)`));
  results.cycles = marks;
}

// Phase 2: one connection, MESSAGES echoes.
{
  const marks = [snapshot('messages: start')];
  const ws = webSocket.createWebSocket();
  const half = Math.floor(MESSAGES / 2);
  await session(ws, half);
  marks.push(snapshot(`messages: ${half}`));
  await session(ws, MESSAGES - half);
  marks.push(snapshot(`messages: ${MESSAGES} (end)`));
  results.messages = marks;
}

// Phase 3: worker threads that load the addon, connect, echo and exit.
{
  const marks = [snapshot('workers: start')];
  const workerCode = `
    const { workerData, parentPort } = require('node:worker_threads');
    const webSocket = require(workerData.entry);
    const ws = webSocket.createWebSocket();
    ws.on('open', () => ws.send('from a worker'));
    ws.on('message', () => ws.close());
    ws.on('close', (e, v) => parentPort.postMessage(v.code));
    ws.on('error', (e) => parentPort.postMessage('error ' + e.detail));
    ws.connect(workerData.url);
  `;
  const entry = fileURLToPath(new URL('../../index.js', import.meta.url));
  for (let i = 1; i <= WORKERS; i++) {
    const w = new Worker(workerCode, { eval: true, workerData: { entry, url } });
    // Listen for 'exit' first: a worker that exits drains its last messages and emits
    // 'exit' in the same tick, before an `await` on 'message' could resume.
    const exited = once(w, 'exit');
    const [msg] = await once(w, 'message');
    if (msg !== 1000) throw new Error(`worker ${i}: ${msg}`);
    const [code] = await exited;
    if (code !== 0) throw new Error(`worker ${i} exited with ${code}`);
    if (i === Math.floor(WORKERS / 2)) marks.push(snapshot(`workers: ${i}`));
  }
  marks.push(snapshot(`workers: ${WORKERS} (end)`));
  results.workers = marks;
}

server.kill();
console.log(JSON.stringify({ done: true, results }));
