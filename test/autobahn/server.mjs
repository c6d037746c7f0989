// Autobahn|Testsuite server-side echo app for this addon: a WebSocketServer written
// only with the OpenHarmony API (createWebSocketServer/start/send/on), echoing every
// message unchanged to the connection it came from. Usage:
//   node test/autobahn/server.mjs [--port 9011]
// Prints "READY <port>" once listening. The R42 send limit is lifted through
// lib/testing.js, as for the client driver (9.1.5/9.1.6/9.2.5/9.2.6 echo 8 and 16 MiB).
import { parseArgs } from 'node:util';
import webSocket from '../../index.js';
import testing from '../../lib/testing.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '9011' } } });
testing.setSendMaxBytes(64 * 1024 * 1024);

const server = webSocket.createWebSocketServer();
server.on('messageReceive', ({ data, clientConnection }) => {
  // A case may end while its echo is still being queued: that rejection is expected.
  server.send(data, clientConnection).catch(() => {});
});
server.on('error', () => {});
await server.start({
  serverIP: '127.0.0.1',
  serverPort: Number(values.port),
  maxConcurrentClientsNumber: 10,
  maxConnectionsForOneClient: 10,
});
console.log(`READY ${server.address().port}`);
process.on('SIGTERM', async () => {
  await server.stop();
});
