// Rough side-by-side: N small text echoes over one connection with at most WINDOW in
// flight, this addon vs `ws`, alternating rounds against one echo server process.
// Usage: node bench/quick-echo.mjs [N=100000] [rounds=3]. Prints msgs/s medians.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WsClient from 'ws';
import webSocket from '../index.js';

const N = Number(process.argv[2] || 100_000);
const ROUNDS = Number(process.argv[3] || 3);
const WINDOW = 1000;
const PAYLOAD = 'x'.repeat(32);

const server = spawn(process.execPath, [fileURLToPath(new URL('./echo-server.mjs', import.meta.url))], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [line] = await once(server.stdout, 'data');
const url = `ws://127.0.0.1:${String(line).trim()}`;

function runOurs() {
  return new Promise((resolve, reject) => {
    const ws = webSocket.createWebSocket();
    let sent = 0;
    let got = 0;
    let t0 = 0;
    const pump = () => {
      while (sent < N && sent - got < WINDOW) {
        ws.send(PAYLOAD);
        sent++;
      }
    };
    ws.on('open', () => {
      t0 = performance.now();
      pump();
    });
    ws.on('message', () => {
      got++;
      if (got === N) {
        const ms = performance.now() - t0;
        ws.close();
        resolve((N / ms) * 1000);
      } else pump();
    });
    ws.on('error', (err) => reject(err));
    ws.connect(url);
  });
}

function runWs() {
  return new Promise((resolve, reject) => {
    const ws = new WsClient(url, { perMessageDeflate: false });
    let sent = 0;
    let got = 0;
    let t0 = 0;
    const pump = () => {
      while (sent < N && sent - got < WINDOW) {
        ws.send(PAYLOAD);
        sent++;
      }
    };
    ws.on('open', () => {
      t0 = performance.now();
      pump();
    });
    ws.on('message', () => {
      got++;
      if (got === N) {
        const ms = performance.now() - t0;
        ws.close();
        resolve((N / ms) * 1000);
      } else pump();
    });
    ws.on('error', reject);
  });
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ours = [];
const theirs = [];
const cpuOurs = [];
const cpuTheirs = [];
// Client CPU (user + system, all threads of this process) per message, in µs.
async function measure(fn, rates, cpus) {
  const c0 = process.cpuUsage();
  rates.push(await fn());
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / N);
}
for (let r = 0; r < ROUNDS; r++) {
  await measure(runOurs, ours, cpuOurs);
  await measure(runWs, theirs, cpuTheirs);
}
const fmt = (v) => Math.round(v).toLocaleString('en-US');
console.log(`echo ${N} x 32 B, window ${WINDOW}, ${ROUNDS} rounds (A B alternating)`);
console.log(`ohos-net-websocket  median ${fmt(median(ours))} msgs/s  [${ours.map(fmt).join(', ')}]`);
console.log(`ws                  median ${fmt(median(theirs))} msgs/s  [${theirs.map(fmt).join(', ')}]`);
console.log(`client CPU per message: ours ${median(cpuOurs).toFixed(2)} µs, ws ${median(cpuTheirs).toFixed(2)} µs`);
console.log(`ratio ${(median(ours) / median(theirs)).toFixed(2)}x`);
server.kill();
