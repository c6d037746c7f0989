// Autobahn|Testsuite client driver for this addon: runs every case of the fuzzingserver
// through the public OpenHarmony API (createWebSocket/connect/send/close/on) and echoes
// each message back unchanged. Usage:
//   node test/autobahn/client.mjs [--url ws://127.0.0.1:9001] [--agent ohos-net-websocket]
// The R42 send limit is lifted through lib/testing.js, as the reference drivers lift
// their libraries' limits (cases 9.1.5/9.1.6/9.2.5/9.2.6 echo 8 and 16 MiB messages).
import { parseArgs } from 'node:util';
import webSocket from '../../index.js';
import testing from '../../lib/testing.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:9001' },
    agent: { type: 'string', default: 'ohos-net-websocket' },
    'case-timeout': { type: 'string', default: '120' },
  },
});
const base = values.url;
const agent = encodeURIComponent(values.agent);
const caseTimeoutMs = Number(values['case-timeout']) * 1000;
testing.setSendMaxBytes(64 * 1024 * 1024);

let contractViolations = 0;

/** One connection; resolves when it has ended (close, or error without open). */
function session(path, onMessage) {
  return new Promise((resolve) => {
    const ws = webSocket.createWebSocket();
    let done = false;
    let opened = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      ws.close().catch(() => {});
      setTimeout(finish, 2000);
    }, caseTimeoutMs);
    ws.on('open', () => {
      opened = true;
    });
    ws.on('message', (err, data) => {
      if (err !== undefined || (typeof data !== 'string' && !(data instanceof ArrayBuffer))) {
        contractViolations++;
      }
      onMessage(ws, data);
    });
    ws.on('close', finish);
    ws.on('error', () => {
      // An error before open is final; after open a close event follows (R62).
      if (!opened) finish();
    });
    ws.connect(`${base}${path}`).catch(() => finish());
  });
}

let count = 0;
await session('/getCaseCount', (_ws, data) => {
  count = Number(data);
});
const started = Date.now();
for (let n = 1; n <= count; n++) {
  await session(`/runCase?case=${n}&agent=${agent}`, (ws, data) => {
    ws.send(data).catch(() => {});
  });
  if (n % 50 === 0) console.log(`[autobahn] ${n}/${count} cases`);
}
await session(`/updateReports?agent=${agent}`, () => {});
console.log(`[autobahn] ${count} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (contractViolations > 0) {
  console.error(`[autobahn] ${contractViolations} messages were neither string nor ArrayBuffer`);
  process.exit(3);
}
