// A small chat server on this package's WebSocketServer (API 19+): every text message
// a client sends is broadcast to every connected client, with joins and leaves
// announced. Run it, then connect two or more clients, e.g. with the package's CLI:
//
//   node examples/chat-server.mjs [port]          (default 8080, listens on 127.0.0.1)
//   npx ohos-ws connect ws://127.0.0.1:8080       (in two other terminals)
//
// Ctrl-C stops it: every client gets close 1001 "server is going away".
import { webSocket } from '../index.js';

const port = Number(process.argv[2] ?? 8080);
const server = webSocket.createWebSocketServer();
const name = ({ clientIP, clientPort }) => `${clientIP}:${clientPort}`;

/** Sends `text` to every open connection; a connection closing meanwhile is skipped. */
function broadcast(text) {
  for (const conn of server.listAllConnections()) server.send(text, conn).catch(() => {});
}

server.on('connect', (conn) => {
  broadcast(`* ${name(conn)} joined (${server.listAllConnections().length} here)`);
});
server.on('messageReceive', ({ data, clientConnection }) => {
  if (typeof data !== 'string') {
    server.send('* only text messages are relayed', clientConnection).catch(() => {});
    return;
  }
  broadcast(`${name(clientConnection)}: ${data}`);
});
server.on('close', (conn, { code }) => {
  broadcast(`* ${name(conn)} left (${code})`);
});
server.on('error', (err) => console.error(`[chat] ${err.detail ?? JSON.stringify(err)}`));

await server.start({
  serverIP: '127.0.0.1',
  serverPort: port,
  maxConcurrentClientsNumber: 10,
  maxConnectionsForOneClient: 10,
});
console.log(`[chat] listening on ws://127.0.0.1:${server.address().port}`);

process.once('SIGINT', async () => {
  console.log('\n[chat] stopping');
  await server.stop();
});
