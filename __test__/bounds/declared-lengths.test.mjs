// Issue #17 item 2 (shared.mjs): frame headers that declare up to R59's 100 MiB, followed by
// 10 bytes, reserve nothing in our server or our clients before the bytes arrive. One case runs
// the child under `ulimit -v`, so that a reservation of the declared sizes aborts it instead of
// passing unnoticed (VmPeak counts address space, not touched pages).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRawWsServer, delay, waitUntil, withTimeout } from '../helpers/servers.mjs';
import {
  MiB, OP, SETTLE_MS, SERVER_CHILD, CLIENT_CHILD, live, launch, mib, growthText, assertGrowth, hundredUpgraded, linuxOnly,
} from './shared.mjs';

/** What a frame header declares in the first cases: just under R59's 100 MiB, so allowed. */
const DECLARED_BYTES = 100 * MiB - 1;
/** The payload bytes that follow each such header (the rest never comes). */
const SENT_PAYLOAD = Buffer.alloc(10, 0x61);
/** The three frame kinds that may declare a large payload: the fast path's and tungstenite's. */
const KINDS = [
  { label: 'final binary', opcode: OP.BINARY, fin: true },
  { label: 'final text', opcode: OP.TEXT, fin: true },
  { label: 'non-final binary fragment', opcode: OP.BINARY, fin: false },
];

/**
 * A frame header with a 64-bit length declaring `len` payload bytes. `masked` (a client's
 * frame) adds a zero mask key, under which the payload goes as it is (RFC 6455 allows any key).
 */
function declaredHeader({ opcode, fin }, len, masked) {
  const b = Buffer.alloc(masked ? 14 : 10);
  b[0] = (fin ? 0x80 : 0) | opcode;
  b[1] = (masked ? 0x80 : 0) | 127;
  b.writeBigUInt64BE(BigInt(len), 2);
  return b;
}

/**
 * Sends each third of `sockets` (by index) one frame kind of KINDS: a header declaring
 * DECLARED_BYTES, then SENT_PAYLOAD. After each kind, reads the child's memory and adds a row
 * for its growth to `rows`; `first` is the memory before the first kind. Returns the last reading.
 */
async function declareByKind(child, sockets, masked, first, rows) {
  let before = first;
  for (const [k, kind] of KINDS.entries()) {
    const group = sockets.filter((_, i) => i % KINDS.length === k);
    for (const s of group) s.write(Buffer.concat([declaredHeader(kind, DECLARED_BYTES, masked), SENT_PAYLOAD]));
    await delay(SETTLE_MS);
    const now = await child.memory();
    rows.push(`${group.length} × ${kind.label}: ${growthText(before, now)}`);
    before = now;
  }
  return before;
}

describe('issue #17: what a peer sends cannot size our memory before the bytes arrive', { skip: linuxOnly }, () => {
  describe('declared frame lengths (up to R59’s 100 MiB) reserve nothing before the bytes arrive', () => {
    it('server: 100 clients (10 IPs × 10) each declare 100 MiB − 1 and send 10 bytes → VmPeak and VmRSS grow < 512 MiB', { timeout: 30_000 }, async (t) => {
      const child = launch(SERVER_CHILD);
      try {
        const ready = await child.waitEvent('ready');
        const peers = await hundredUpgraded(ready.port);
        let before = await child.memory();
        for (let i = 0; before.counts.connect !== 100 && i < 50; i++) before = await delay(50).then(() => child.memory());
        assert.equal(before.counts.connect, 100, 'connect events');
        const rows = [`100 connections: ${growthText(ready, before)}`];
        const start = before;
        const end = await declareByKind(child, peers, true, start, rows);
        t.diagnostic(rows.join(' | '));
        const report = rows.join('\n');
        // Every connection is still open, waiting for its payload: nothing was refused.
        assert.equal(end.counts.close ?? 0, 0, `close events\n${report}`);
        assert.equal(peers.filter((s) => s.destroyed).length, 0, `connections dropped\n${report}`);
        assertGrowth(start, end, { rssMiB: 512, peakMiB: 512 }, report);
      } finally {
        for (const s of live.sockets) s.destroy();
        await child.end();
      }
    });

    it('client: 100 clients, each sent a header declaring 100 MiB − 1 and 10 bytes → VmPeak and VmRSS grow < 512 MiB', { timeout: 30_000 }, async (t) => {
      const peer = await startRawWsServer();
      live.servers.add(peer);
      const child = launch(CLIENT_CHILD, { url: peer.url, clients: 100 });
      try {
        const opened = await child.waitEvent('opened');
        await waitUntil(() => peer.connections.length === 100, { label: '100 upgraded connections' });
        const before = await child.memory();
        const start = before;
        const rows = [`100 open clients: ${growthText(opened, before)}`];
        const end = await declareByKind(child, peer.connections.map((c) => c.socket), false, start, rows);
        t.diagnostic(rows.join(' | '));
        const report = rows.join('\n');
        assert.equal((end.counts.close ?? 0) + (end.counts.error ?? 0), 0, `error/close events\n${report}`);
        assertGrowth(start, end, { rssMiB: 512, peakMiB: 512 }, report);
      } finally {
        await child.end();
        await peer.close();
        live.servers.delete(peer);
      }
    });

    it('server under `ulimit -v` (baseline VmPeak + 1 GiB): the same 100 declarations do not abort it', { timeout: 30_000 }, async (t) => {
      // Node reserves much address space by itself (V8's heap and code ranges, thread
      // stacks, malloc arenas): the limit is set from a measured baseline of this very child.
      const probe = launch(SERVER_CHILD);
      let baseline;
      try {
        baseline = await probe.waitEvent('ready');
      } finally {
        await probe.end();
      }
      const limitKiB = baseline.peak + 1024 * 1024;
      t.diagnostic(`baseline VmPeak ${baseline.peak} KiB (${mib(baseline.peak)}), VmRSS ${mib(baseline.rss)}; ulimit -v ${limitKiB}`);
      const child = launch(SERVER_CHILD, {}, { limitKiB });
      try {
        const ready = await child.waitEvent('ready');
        const peers = await hundredUpgraded(ready.port);
        for (const [i, s] of peers.entries()) {
          s.write(Buffer.concat([declaredHeader(KINDS[i % KINDS.length], DECLARED_BYTES, true), SENT_PAYLOAD]));
        }
        await delay(SETTLE_MS);
        // An allocation over the limit aborts the child: this report never comes.
        const now = await child.memory();
        const text = `under ulimit -v ${limitKiB}: ${growthText(ready, now)}`;
        t.diagnostic(text);
        assert.ok(now.peak <= limitKiB, text);
        assert.equal(peers.filter((s) => s.destroyed).length, 0, `connections dropped; ${text}`);
        for (const s of peers) s.destroy();
        child.proc.kill('SIGTERM');
        const exit = await withTimeout(child.exited, 10_000, 'the child stopping');
        assert.deepEqual([exit.code, exit.signal], [0, null], `the child's exit; ${child.describe()}`);
      } finally {
        for (const s of live.sockets) s.destroy();
        await child.end();
      }
    });
  });
});
