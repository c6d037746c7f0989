// Names of what the bench measures (clients and servers) and their labels. A subject is
// an implementation, optionally with environment of its own, so that two settings of one
// implementation alternate round by round in one run, where their ratio means something:
//
//   ohos                                 the addon as it is
//   ohos@OHOS_WS_IO_THREADS=2            the addon with that variable set
//   ohos@A=1;B=2                         several variables

/** The flag that makes Node's own WebSocket global on the Node that runs the bench, or
 * null: none is needed (Node 22 and later) or none exists (Node 18, which has no
 * WebSocket; its client is then skipped with that reason). Children run on this Node. */
export const NODE_WEBSOCKET_FLAG =
  typeof globalThis.WebSocket !== 'function' && process.allowedNodeEnvironmentFlags.has('--experimental-websocket')
    ? '--experimental-websocket'
    : null;

export const LABEL = {
  ohos: 'ohos-net-websocket',
  ws: 'ws',
  'ws+bufferutil': 'ws + bufferutil',
  'ws+arraybuffer': "ws, binaryType 'arraybuffer'",
  undici: 'undici WebSocket',
  // Node's global WebSocket is the undici bundled with Node, a version of its own.
  node: `Node's WebSocket (undici ${process.versions.undici}${NODE_WEBSOCKET_FLAG ? `, ${NODE_WEBSOCKET_FLAG}` : ''})`,
  rust: 'tokio-tungstenite (native Rust)',
  uws: 'uWebSockets.js',
};

/** { base, env } of a subject name; env is {} for a plain implementation. */
export function parseSubject(name) {
  const at = name.indexOf('@');
  if (at < 0) return { base: name, env: {} };
  const env = {};
  for (const pair of name.slice(at + 1).split(';')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!m) throw new Error(`bad environment ${JSON.stringify(pair)} in ${name} (want KEY=VALUE)`);
    env[m[1]] = m[2];
  }
  return { base: name.slice(0, at), env };
}

export function label(name) {
  const { base, env } = parseSubject(name);
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
  return vars ? `${LABEL[base] ?? base} [${vars}]` : (LABEL[base] ?? base);
}

/** The environment of a child process for `name`: ours, then the run's --env, then the
 * subject's own; plain `ws` must not pick up bufferutil, the other variant must be able to. */
export function childEnv(name, runEnv) {
  const { base, env: own } = parseSubject(name);
  const env = { ...process.env, ...runEnv, ...own };
  if (base === 'ws' || base === 'ws+arraybuffer') env.WS_NO_BUFFER_UTIL = '1';
  else delete env.WS_NO_BUFFER_UTIL;
  return env;
}
