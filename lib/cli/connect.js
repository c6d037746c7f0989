'use strict';
// `ohos-ws connect`: one client connection through the package's public API. Interactive
// mode turns input lines into messages; `-x` sends one message, prints the first reply and
// closes. Resolves the exit status: 0 after a clean close, 1 after any error.

const webSocket = require('../../index.js');
const { showMessage, toMessage, out, status, printError, readLines } = require('./print');

/** `/close [code] [reason…]` → WebSocketCloseOptions; null when the line is a message. */
function closeCommand(line) {
  const m = /^\/close(?:\s+(\d+))?(?:\s+(.*))?$/.exec(line.trim());
  if (!m) return null;
  const options = {};
  if (m[1] !== undefined) options.code = Number(m[1]);
  if (m[2]) options.reason = m[2];
  return options;
}

function describeOpen(info) {
  return `connected (${info.status} ${info.message}${info.protocol ? `, subprotocol ${info.protocol}` : ''})`;
}

function runConnect({ url, options, execute, binary }) {
  return new Promise((resolve) => {
    const ws = webSocket.createWebSocket();
    const oneShot = execute !== undefined;
    let opened = false;
    let closing = false;
    let failed = false;
    let replied = false;
    let stopInput = null;

    const finish = (code) => {
      if (stopInput) stopInput();
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      resolve(code);
    };
    const close = (closeOptions = {}) => {
      if (closing) return;
      closing = true;
      ws.close(closeOptions).catch((err) => (printError(err), finish(1)));
    };
    const send = (line) => ws.send(toMessage(line, binary)).catch(printError);
    const onLine = (line) => {
      if (closing) return;
      const closeOptions = closeCommand(line);
      if (closeOptions) close(closeOptions);
      else send(line);
    };
    // A first Ctrl-C closes cleanly (also while connecting, R50); a second one gives up.
    function interrupt() {
      if (closing) process.exit(130);
      close();
    }

    ws.on('openInfo', (err, info) => {
      opened = true;
      status(describeOpen(info));
      if (oneShot) send(execute);
      else stopInput = readLines(onLine, () => close());
    });
    ws.on('message', (err, data) => {
      if (!oneShot) return out(`< ${showMessage(data, binary)}`);
      if (replied) return undefined;
      replied = true;
      out(showMessage(data, binary));
      return close();
    });
    ws.on('error', (err) => {
      failed = true;
      printError(err);
      // A failed attempt ends here: only a connection that opened gets a close event (R21).
      if (!opened) finish(1);
    });
    ws.on('close', (err, { code, reason }) => {
      status(`closed ${code} ${reason}`);
      if (oneShot && !replied && !failed) {
        status('error: the connection closed before a reply arrived');
        failed = true;
      }
      finish(failed ? 1 : 0);
    });
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
    ws.connect(url, options).catch((err) => (printError(err), finish(1)));
  });
}

module.exports = { runConnect, closeCommand };
