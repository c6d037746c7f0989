'use strict';
// Command line of `ohos-ws`: turns argv into a command and its settings, already in the
// shape the package's API takes (WebSocketRequestOptions, WebSocketServerConfig). Every
// mistake is a UsageError, which the entry point prints with the usage text (exit 2).

const { parseArgs } = require('node:util');

class UsageError extends Error {}

const OPTIONS = {
  header: { type: 'string', short: 'H', multiple: true },
  subprotocol: { type: 'string', short: 's' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  passphrase: { type: 'string' },
  'no-check': { type: 'boolean' },
  proxy: { type: 'string' },
  ping: { type: 'string' },
  execute: { type: 'string', short: 'x' },
  binary: { type: 'boolean' },
  echo: { type: 'boolean' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
};

/** Options each command accepts (help and version are accepted everywhere). */
const ACCEPTED = {
  connect: ['header', 'subprotocol', 'ca', 'cert', 'key', 'passphrase', 'no-check', 'proxy', 'ping', 'execute', 'binary'],
  listen: ['cert', 'key', 'echo', 'host', 'subprotocol', 'binary'],
};

const USAGE = `Usage:
  ohos-ws connect <url> [options]   talk to a WebSocket server (ws:// or wss://)
  ohos-ws listen <port> [options]   run a WebSocket server (port 0 picks a free one)

connect options:
  -H, --header "name: value"   extra request header (repeatable)
  -s, --subprotocol <name>     offer this subprotocol
      --ca <file>              PEM file of the only trusted CAs
      --cert <file>            client certificate (PEM), with --key
      --key <file>             client private key (PEM)
      --passphrase <text>      password of an encrypted --key
      --no-check               do not verify the server certificate
      --proxy <host:port>      tunnel through this HTTP proxy
      --ping <seconds>         heartbeat interval (0 disables it; default 30)
  -x, --execute <message>      send one message, print the reply, close, exit
      --binary                 send lines as binary frames; show messages as hex

listen options:
      --host <ip>              address to listen on (default 127.0.0.1)
      --cert <file> --key <file>  serve wss:// with this certificate and key
  -s, --subprotocol <name>     select this subprotocol when a client offers it
      --echo                   send every message back to its sender
      --binary                 send lines as binary frames; show messages as hex

Each line of standard input is sent as a message (listen: to every client); received
messages go to standard output, status lines and errors to standard error.
connect: "/close [code] [reason]" closes; end of input (Ctrl-D) or Ctrl-C closes cleanly.
listen: runs until Ctrl-C (or SIGTERM), which stops the server.
Exit status: 0 after a clean close, 1 after an error, 2 for a usage error.
`;

/** `name: value` → [name, value]; the value may itself contain colons. */
function parseHeader(text) {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  if (!name) throw new UsageError(`-H expects "name: value", got "${text}"`);
  return [name, text.slice(colon + 1).trim()];
}

function parseInteger(text, what, min, max) {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

/** `host:port`, `[v6]:port` or `http://host:port` → the API's HttpProxy. */
function parseProxy(text) {
  const m = /^(?:http:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(text);
  if (!m) throw new UsageError(`--proxy expects host:port, got "${text}"`);
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  return { host, port: parseInteger(m[2], '--proxy port', 1, 65535), exclusionList: [] };
}

function requirePair(values) {
  if (Boolean(values.cert) !== Boolean(values.key)) throw new UsageError('--cert and --key go together');
  if (values.passphrase !== undefined && !values.key) throw new UsageError('--passphrase needs --key');
}

/** WebSocketRequestOptions for `connect`. */
function connectOptions(values) {
  requirePair(values);
  const options = {};
  if (values.header) options.header = Object.fromEntries(values.header.map(parseHeader));
  if (values.subprotocol !== undefined) options.protocol = values.subprotocol;
  if (values.ca !== undefined) options.caPath = values.ca;
  if (values.cert) {
    options.clientCert = { certPath: values.cert, keyPath: values.key };
    if (values.passphrase !== undefined) options.clientCert.keyPassword = values.passphrase;
  }
  if (values['no-check']) options.skipServerCertVerification = true;
  if (values.proxy !== undefined) options.proxy = parseProxy(values.proxy);
  if (values.ping !== undefined) options.pingInterval = parseInteger(values.ping, '--ping', 0, 30000);
  return options;
}

/** WebSocketServerConfig for `listen`; both limits at the most the API allows. */
function listenConfig(port, values) {
  requirePair(values);
  const config = {
    serverIP: values.host ?? '127.0.0.1',
    serverPort: parseInteger(port, 'the port', 0, 65535),
    maxConcurrentClientsNumber: 10,
    maxConnectionsForOneClient: 10,
  };
  if (values.cert) config.serverCert = { certPath: values.cert, keyPath: values.key };
  if (values.subprotocol !== undefined) config.protocol = values.subprotocol;
  return config;
}

/**
 * argv (without node and the script) → `{command: 'help' | 'version'}`,
 * `{command: 'connect', url, options, execute, binary}` or
 * `{command: 'listen', config, echo, binary}`.
 */
function parseCommandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  const [command, target, ...rest] = positionals;
  if (!command) throw new UsageError('no command given');
  if (!ACCEPTED[command]) throw new UsageError(`unknown command "${command}"`);
  if (target === undefined) throw new UsageError(`${command} needs ${command === 'connect' ? 'a URL' : 'a port'}`);
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  for (const name of Object.keys(values)) {
    if (!ACCEPTED[command].includes(name)) throw new UsageError(`--${name} is not an option of ${command}`);
  }
  const binary = Boolean(values.binary);
  if (command === 'connect') {
    return { command, url: target, options: connectOptions(values), execute: values.execute, binary };
  }
  return { command, config: listenConfig(target, values), echo: Boolean(values.echo), binary };
}

module.exports = { parseCommandLine, UsageError, USAGE };
