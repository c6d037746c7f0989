'use strict';
// `ohos-ws listen`: a WebSocket server through the package's server API (spec section (e)).
// Connections, messages and closes are printed; input lines go to every client; `--echo`
// answers each message to its sender. Runs until SIGINT/SIGTERM, then stops the server.

const webSocket = require('../../index.js');
const { showMessage, toMessage, out, status, printError, readLines } = require('./print');

/** `ip:port` of a WebSocketConnection, IPv6 in brackets. */
function peer({ clientIP, clientPort }) {
  return clientIP.includes(':') ? `[${clientIP}]:${clientPort}` : `${clientIP}:${clientPort}`;
}

function listeningLine(address, tls) {
  const host = String(address.family).includes('6') ? `[${address.address}]` : address.address;
  return `listening on ${tls ? 'wss' : 'ws'}://${host}:${address.port}`;
}

function runListen({ config, echo, binary }) {
  return new Promise((resolve) => {
    const server = webSocket.createWebSocketServer();
    const send = (data, connection) => server.send(data, connection).catch(printError);
    let stopping = false;
    let stopInput = null;

    function stop() {
      if (stopping) process.exit(130);
      stopping = true;
      if (stopInput) stopInput();
      server.stop().then(
        () => (status('stopped'), resolve(0)),
        (err) => (printError(err), resolve(1)),
      );
    }

    server.on('connect', (connection) => status(`+ ${peer(connection)}`));
    server.on('messageReceive', ({ data, clientConnection }) => {
      out(`${peer(clientConnection)} < ${showMessage(data, binary)}`);
      if (echo) send(data, clientConnection);
    });
    server.on('close', (connection, result) => status(`- ${peer(connection)} ${result.code} ${result.reason}`));
    server.on('error', printError);

    server.start(config).then(
      () => {
        status(listeningLine(server.address(), Boolean(config.serverCert)));
        // End of input only ends the forwarding: a server started in the background (input
        // from /dev/null) must keep serving.
        stopInput = readLines(
          (line) => server.listAllConnections().forEach((c) => send(toMessage(line, binary), c)),
          () => {},
        );
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      },
      (err) => (printError(err), resolve(1)),
    );
  });
}

module.exports = { runListen };
