// Client-side conveniences on top of the package under test.
import webSocket from '../../index.js';
import { recordEvents, closeQuietly } from './servers.mjs';
import { expectResolvedTrue } from './assertions.mjs';

export { webSocket };

/**
 * Creates a client, records all its events, connects (promise mode, asserting `true`) and
 * waits for `open`. Returns `{ws, rec}`.
 */
export async function openSession(url, options) {
  const ws = webSocket.createWebSocket();
  const rec = recordEvents(ws);
  try {
    await expectResolvedTrue(options === undefined ? ws.connect(url) : ws.connect(url, options));
    await rec.waitFor('open');
  } catch (e) {
    await closeQuietly(ws, rec);
    throw e;
  }
  return { ws, rec };
}

/** Closes a session opened by openSession (bounded, errors ignored). */
export function endSession(session) {
  return session ? closeQuietly(session.ws, session.rec) : undefined;
}

/**
 * Opens a session against `server` (an echo-server state) and returns it together with the
 * request the server saw for it.
 */
export async function openAndCapture(server, url, options) {
  const before = server.requests.length;
  const session = await openSession(url ?? server.url, options);
  await server.waitForRequests(before + 1);
  return { ...session, request: server.requests[before] };
}
