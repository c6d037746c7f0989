// `npm start`: the documented OpenHarmony example (seed 001, "Examples"), with only the
// import line and the server URL changed, against an embedded echo server on 127.0.0.1
// written with this package's own WebSocketServer (API 19+). The server echoes every
// message and then says 'bye', so the example closes by itself.
import { webSocket } from '../index.js';

const server = webSocket.createWebSocketServer();
server.on('messageReceive', async ({ data, clientConnection }) => {
  await server.send(data, clientConnection);
  await server.send('bye', clientConnection);
});
await server.start({ serverIP: '127.0.0.1', serverPort: 0, maxConcurrentClientsNumber: 1, maxConnectionsForOneClient: 1 });
const defaultIpAddress = `ws://127.0.0.1:${server.address().port}`;
console.log(`[demo] echo server listening at ${defaultIpAddress}`);

// ---- the documented example, unchanged apart from the types ----
let ws = webSocket.createWebSocket();
ws.on('open', (err, value) => {
  console.log('on open, status:' + JSON.stringify(value));
  // When receiving the on('open') event, the client can use the send() API to communicate with the server.
  ws.send('Hello, server!', (err, value) => {
    if (!err) {
      console.log('Message send successfully');
    } else {
      console.log('Failed to send the message. Err:' + JSON.stringify(err));
    }
  });
});
ws.on('message', (err, value) => {
  console.log('on message, message:' + value);
  // When receiving the `bye` message (the actual message name may differ) from the server, the client proactively disconnects from the server.
  if (value === 'bye') {
    ws.close((err, value) => {
      if (!err) {
        console.log('Connection closed successfully');
      } else {
        console.log('Failed to close the connection. Err: ' + JSON.stringify(err));
      }
    });
  }
});
ws.on('close', (err, value) => {
  console.log('on close, code is ' + value.code + ', reason is ' + value.reason);
  // The demo's own server is the only other thing keeping the process alive.
  server.stop();
});
ws.on('error', (err) => {
  console.log('on error, error:' + JSON.stringify(err));
  server.stop();
});
ws.connect(defaultIpAddress, (err, value) => {
  if (!err) {
    console.log('Connected successfully');
  } else {
    console.log('Connection failed. Err:' + JSON.stringify(err));
  }
});
