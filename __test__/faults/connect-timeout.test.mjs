// Faults survived, measured (issue #17 item 5; shared.mjs): R22, a connect that is never
// answered. The one test that waits the full R22 bound (20 s); its two attempts run at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import webSocket from '../../index.js';
import { startRawServer, recordEvents, closeQuietly, waitUntil, delay, HOST } from '../helpers/servers.mjs';
import { E, assertBusinessError, expectResolvedTrue } from '../helpers/assertions.mjs';
import { spawnChild } from '../helpers/child.mjs';
import { QUIET_MS, row, stopChild } from './shared.mjs';

/** R22 (src/constants.rs HANDSHAKE_TIMEOUT_MS). */
const HANDSHAKE_TIMEOUT_MS = 20_000;

describe('faults survived, measured (issue #17 item 5)', () => {
  it('R22: a connect that is never answered fails after 20 s with error 200 only, no close', async (t) => {
    // Two attempts at once, so the 20 s are waited once: a listener that accepts and never
    // sends a byte, and (Linux) a SYN that is never answered — a listener whose accept
    // queue is full and that never accepts, so the kernel drops further SYNs.
    const silent = await startRawServer(() => {});
    t.after(() => silent.close());
    const targets = [{ name: 'accepts, never answers the upgrade', url: `${silent.url}/never` }];
    let syn;
    if (process.platform === 'linux') {
      syn = await fullBacklogListener();
      t.after(() => syn.close());
      targets.push({ name: 'SYN never answered (full accept backlog)', url: `ws://${HOST}:${syn.port}` });
    } else {
      t.diagnostic('the full-backlog variant runs on Linux only (other kernels answer or refuse the SYN)');
    }
    const results = await Promise.all(targets.map((target) => neverAnswered(target)));
    assert.equal(silent.requests[0]?.url, '/never', 'the upgrade request reached the silent listener');
    await waitUntil(() => silent.sockets.size === 0, { label: 'the client dropped its socket after the bound' });
    if (syn) assert.equal(syn.probe.readyState, 'opening', 'the accept queue stayed full for the whole wait');
    for (const r of results) {
      row(t, {
        fault: `connect never answered: ${r.name}`,
        pair: 'our client → listener',
        role: 'our client',
        sent: 0,
        delivered: 0,
        events: r.events,
        detectionMs: r.elapsed,
      });
    }
  });
});

/**
 * The R22 attempt of the never-answered test: connect resolves true (R19), then only an
 * `error` (200, "0") comes, no sooner than 20 s and not much later; no `close` (R21).
 */
async function neverAnswered({ name, url }) {
  const ws = webSocket.createWebSocket();
  const rec = recordEvents(ws);
  try {
    const started = Date.now();
    await expectResolvedTrue(ws.connect(url));
    const ev = await rec.waitFor('error', { timeout: HANDSHAKE_TIMEOUT_MS + 5000 });
    const elapsed = Date.now() - started;
    assertBusinessError(ev.value, E.EVENT, '0');
    assert.ok(elapsed >= HANDSHAKE_TIMEOUT_MS - 50, `${name}: error after ${elapsed} ms, before the R22 bound`);
    assert.ok(elapsed <= HANDSHAKE_TIMEOUT_MS + 1500, `${name}: error after ${elapsed} ms, well after the R22 bound`);
    await delay(QUIET_MS);
    assert.deepEqual(rec.types(), ['error'], `${name}: an attempt that never opened gets no close (R21)`);
    return { name, elapsed, events: rec.types() };
  } finally {
    await closeQuietly(ws, rec);
  }
}

/**
 * A listener that never accepts (a child process blocked right after listen, backlog 1),
 * whose accept queue is then filled: the kernel drops every further SYN. `probe` is one
 * more connection attempt, left pending, that shows the queue is full.
 */
async function fullBacklogListener() {
  const child = spawnChild(
    `
import net from 'node:net';
const srv = net.createServer(() => {});
srv.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(JSON.stringify({ ev: 'listening', port: srv.address().port }) + '\\n');
  // Block this thread for good: nothing ever accepts; the kernel alone answers.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
`,
    { prelude: false },
  );
  const { port } = await child.waitFor('listening');
  const sockets = [];
  const connects = (s) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  let probe;
  for (let i = 0; i < 16 && !probe; i++) {
    const s = net.connect(port, HOST);
    s.on('error', () => {});
    sockets.push(s);
    if (!(await connects(s))) probe = s;
  }
  assert.ok(probe && probe.readyState === 'opening', 'the accept queue of the blocked listener filled up');
  return {
    port,
    probe,
    async close() {
      for (const s of sockets) s.destroy();
      await stopChild(child);
    },
  };
}
