// A `ws` echo server in its own process (used by test/soak/soak.mjs); prints its port.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('listening', () => console.log(wss.address().port));
wss.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
