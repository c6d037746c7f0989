// The server under test of the server scenarios (bench/server-scenarios.mjs): an echo
// server, in its own process, written once per implementation the way an application
// would write it. Spawned by the runner:
//
//   node --expose-gc bench/server-app.mjs <ohos|ws|ws+bufferutil|uws> [hardTimeoutMs]
//
// Prints its port as the first stdout line (or one JSON line { error } and exits 1).
// Data messages are echoed with their type, except text commands starting with '!',
// which the load generator (bench/server/src/bin/loadgen.rs) sends:
//   "!go <rounds> <conns> <size>": once <conns> connections are open, send one <size>
//       byte text message to every connection, <rounds> times, yielding between rounds;
//   "!rss <conns>": once <conns> connections are open, answer
//       "rss <RSS at start> <RSS now> <JS heap used at start> <JS heap used now>"
//       (bytes, each after a full GC when run with --expose-gc).
// It exits when stdin closes (the runner is gone), on SIGTERM, or at the hard timeout.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const [impl, hardTimeout = '300000'] = process.argv.slice(2);

function fail(err) {
  const message = err && err.message ? err.message : String(err);
  process.stdout.write(`${JSON.stringify({ server: impl, error: message })}\n`);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
setTimeout(() => fail(new Error(`server app hard timeout (${hardTimeout} ms)`)), Number(hardTimeout)).unref();
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const yieldToIo = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** [RSS, JS heap used] after a full GC. */
function memory() {
  if (typeof gc === 'function') {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return [m.rss, m.heapUsed];
}

// Each implementation listens on 127.0.0.1 on a port the OS chooses, echoes data, hands
// commands to onCommand(text, reply), and returns { port, count(), broadcast(size) }:
// broadcast(size) gives the function that sends one round.
const IMPLS = {
  async ohos(onCommand) {
    const webSocket = require('../index.js');
    if (typeof webSocket.createWebSocketServer !== 'function') {
      throw new Error('webSocket.createWebSocketServer is not implemented');
    }
    const server = webSocket.createWebSocketServer();
    const sendFailed = (err) => {
      // Only a failure while the load is running matters; report it once.
      if (!sendFailed.seen) console.error(`server-app ohos: send failed: ${err?.code} ${err?.message}`);
      sendFailed.seen = true;
    };
    server.on('messageReceive', ({ data, clientConnection }) => {
      if (typeof data === 'string' && data.charCodeAt(0) === 0x21) {
        onCommand(data, (text) => server.send(text, clientConnection).catch(sendFailed));
        return;
      }
      server.send(data, clientConnection).catch(sendFailed);
    });
    server.on('error', (err) => console.error(`server-app ohos: error event ${err?.code} ${err?.message}`));
    await server.start({
      serverIP: '127.0.0.1',
      serverPort: 0,
      maxConcurrentClientsNumber: 10,
      maxConnectionsForOneClient: 10,
    });
    return {
      port: server.address().port,
      count: () => server.listAllConnections().length,
      broadcast(size) {
        // The API's only text form is a string; it is UTF-8-encoded (and copied, R43) by
        // each send.
        const text = 'x'.repeat(size);
        return () => {
          for (const conn of server.listAllConnections()) server.send(text, conn).catch(sendFailed);
        };
      },
    };
  },

  async ws(onCommand) {
    // The runner sets WS_NO_BUFFER_UTIL=1 for plain `ws`; `ws+bufferutil` runs without it.
    const { WebSocketServer, WebSocket } = require('ws');
    // ws loads bufferutil at require time when it can; check which variant we really got.
    const withBufferUtil = Object.keys(require.cache).some((k) => k.includes(`${path.sep}bufferutil${path.sep}`));
    if (withBufferUtil !== (impl === 'ws+bufferutil')) {
      throw new Error(withBufferUtil ? 'bufferutil loaded for plain ws' : 'ws did not load bufferutil');
    }
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      ws.on('error', (err) => console.error(`server-app ws: socket error ${err.message}`));
      ws.on('message', (data, isBinary) => {
        if (!isBinary && data[0] === 0x21) {
          onCommand(data.toString(), (text) => ws.send(text));
          return;
        }
        ws.send(data, { binary: isBinary });
      });
    });
    await new Promise((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return {
      port: wss.address().port,
      count: () => wss.clients.size,
      broadcast(size) {
        // ws's fastest broadcast: the message encoded once, sent as text to every open
        // client (ws's own broadcast example, with the encoding hoisted out of the loop).
        const text = Buffer.from('x'.repeat(size));
        return () => {
          for (const client of wss.clients) {
            if (client.readyState === WebSocket.OPEN) client.send(text, { binary: false });
          }
        };
      },
    };
  },

  async uws(onCommand) {
    const uWS = loadUws();
    // A message larger than this closes the connection (uWS's default is 16 KiB; ws's
    // 100 MiB): as large as the bench server's, far above any scenario's.
    const MAX_PAYLOAD = 64 * 1024 * 1024;
    // uWS drops a send once a connection has this much unsent (default 64 KiB, which s2
    // and s3 pass), where ws and this addon queue it: high enough that nothing is dropped
    // here, and a drop is an error rather than a silent gap in the count.
    const MAX_BACKPRESSURE = 1024 * 1024 * 1024;
    const DROPPED = 2;
    const sent = (status) => {
      if (status === DROPPED) fail(new Error('uWS dropped a message (backpressure over maxBackpressure)'));
    };
    const open = new Set();
    const app = uWS.App();
    app.ws('/*', {
      compression: uWS.DISABLED,
      maxPayloadLength: MAX_PAYLOAD,
      maxBackpressure: MAX_BACKPRESSURE,
      // No idle timeout, no pings: neither ws nor this addon's server has one by default.
      idleTimeout: 0,
      sendPingsAutomatically: false,
      open(ws) {
        open.add(ws);
        // uWS's broadcast is publish/subscribe: every connection hears the one topic.
        ws.subscribe('all');
      },
      close(ws) {
        open.delete(ws);
      },
      message(ws, message, isBinary) {
        if (!isBinary && message.byteLength > 0 && new Uint8Array(message, 0, 1)[0] === 0x21) {
          // The ArrayBuffer is uWS's own, valid until this callback returns: decode it now.
          onCommand(Buffer.from(message).toString(), (text) => sent(ws.send(text, false)));
          return;
        }
        sent(ws.send(message, isBinary));
      },
    });
    const port = await new Promise((resolve, reject) => {
      app.listen('127.0.0.1', 0, (token) => {
        if (token) resolve(uWS.us_socket_local_port(token));
        else reject(new Error('uWS could not listen on 127.0.0.1'));
      });
    });
    // No per-client connection limits: uWS, like ws, has none (ours admits 10 clients ×
    // 10 connections, which the load generator's 100 connections from 10 sources fill
    // without a refusal).
    return {
      port,
      count: () => open.size,
      broadcast(size) {
        // uWS's own broadcast: one publish to the topic every connection subscribed to,
        // the message encoded once, as text.
        const text = Buffer.from('x'.repeat(size));
        return () => app.publish('all', text, false);
      },
    };
  },
};
IMPLS['ws+bufferutil'] = IMPLS.ws;

/** uWebSockets.js's native binary for this Node. @trufflesuite/uws-js-unofficial ships
 * builds for Node 16, 18 and 20 (the official ones need a newer glibc than some machines
 * have); its entry point would silently fall back to a ws-based implementation on any
 * other Node, so the binary is loaded directly and a missing one is an error (the runner
 * then reports the server as unavailable, with this reason). */
function loadUws() {
  const name = '@trufflesuite/uws-js-unofficial';
  let dir;
  try {
    dir = path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new Error(`${name} is not installed (npm install)`);
  }
  const { version } = require(`${name}/package.json`);
  const { platform, arch } = process;
  const abi = process.versions.modules;
  const file = path.join(dir, 'binaries', `uws_${platform}_${arch}_${abi}.node`);
  if (!existsSync(file)) {
    throw new Error(`uWebSockets.js (${name} ${version}) has no binary for Node ${process.version} on ${platform}-${arch} (ABI ${abi}; it ships Node 16, 18 and 20)`);
  }
  try {
    return require(file);
  } catch (e) {
    throw new Error(`uWebSockets.js (${name} ${version}) does not load on Node ${process.version}: ${e.message.split('\n')[0]}`);
  }
}

if (!IMPLS[impl]) fail(new Error(`unknown server implementation ${impl}`));

let app = null;

/** Waits (bounded) until the server lists `n` connections: the load generator's last
 * handshake may complete before the server has registered that connection. */
async function connections(n) {
  for (let waited = 0; app.count() < n; waited++) {
    if (waited > 2000) throw new Error(`only ${app.count()} of ${n} connections after 2 s`);
    await sleep(1);
  }
}

let memoryAtStart = [0, 0];

async function command(text, reply) {
  const [verb, ...args] = text.slice(1).split(' ');
  const nums = args.map(Number);
  if (verb === 'go') {
    const [rounds, conns, size] = nums;
    await connections(conns);
    const round = app.broadcast(size);
    for (let r = 0; r < rounds; r++) {
      round();
      // As a real broadcast does: let I/O (and other events) run between rounds.
      await yieldToIo();
    }
  } else if (verb === 'rss') {
    await connections(nums[0]);
    const now = memory();
    reply(`rss ${memoryAtStart[0]} ${now[0]} ${memoryAtStart[1]} ${now[1]}`);
  } else {
    throw new Error(`unknown command ${text}`);
  }
}

app = await IMPLS[impl]((text, reply) => command(text, reply).catch(fail));
memoryAtStart = memory();
process.stdout.write(`${app.port}\n`);
