// Issue #17 item 2 (shared.mjs): endless handshake heads (a request head to our server, a
// response head to our clients) are bounded: each is answered or fails, memory stays flat.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRawServer, delay, waitUntil, withTimeout } from '../helpers/servers.mjs';
import { E } from '../helpers/assertions.mjs';
import {
  KiB, SOURCE_IPS, PER_IP, SETTLE_MS, SERVER_CHILD, CLIENT_CHILD, live, launch, growthText, assertGrowth, rawClient, receivedText, linuxOnly,
} from './shared.mjs';

describe('issue #17: what a peer sends cannot size our memory before the bytes arrive', { skip: linuxOnly }, () => {
  describe('handshake heads are bounded', () => {
    it('server: 100 clients (10 IPs × 10) send an endless header line → each 431, VmRSS grows < 64 MiB, VmPeak < 256 MiB', { timeout: 30_000 }, async (t) => {
      const child = launch(SERVER_CHILD);
      try {
        const ready = await child.waitEvent('ready');
        const before = await child.memory();
        const peers = SOURCE_IPS.flatMap((ip) => Array.from({ length: PER_IP }, () => rawClient(ready.port, ip)));
        const line = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Endless: ';
        // 15 KiB each, under the 16 KiB bound: 100 heads held at once.
        for (const s of peers) s.write(line + 'a'.repeat(15 * KiB - line.length));
        await delay(SETTLE_MS);
        const holding = await child.memory();
        // Then 4 KiB more every 25 ms until answered (at most 5 s).
        const answered = (s) => s.received.length > 0 || s.destroyed;
        const chunk = 'b'.repeat(4 * KiB);
        for (const deadline = Date.now() + 5000; peers.some((s) => !answered(s)) && Date.now() < deadline; await delay(25)) {
          for (const s of peers) if (!answered(s)) s.write(chunk);
        }
        await Promise.all(peers.map((s) => withTimeout(s.ended, 5000, 'the server closing').catch(() => {})));
        const after = await child.memory();
        const statuses = peers.map((s) => receivedText(s).slice(0, 12));
        const text = `holding 100 heads of 15 KiB: ${growthText(before, holding)} | after 431s: ${growthText(before, after)}`;
        t.diagnostic(text);
        assert.deepEqual([...new Set(statuses)], ['HTTP/1.1 431'], text);
        // VmPeak while the heads are held; afterwards it moves with threads and malloc arenas.
        assertGrowth(before, holding, { rssMiB: 64, peakMiB: 256 }, text);
        assertGrowth(before, after, { rssMiB: 64 }, text);
      } finally {
        for (const s of live.sockets) s.destroy();
        await child.end();
      }
    });

    it('client: 100 clients get an endless response head → each an error event, VmRSS grows < 64 MiB, VmPeak < 256 MiB', { timeout: 30_000 }, async (t) => {
      const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Endless: ';
      const peer = await startRawServer((socket) => socket.write(head + 'a'.repeat(60 * KiB - head.length)));
      live.servers.add(peer);
      const child = launch(CLIENT_CHILD, { url: peer.url, clients: 100, report: true });
      try {
        const ready = await child.waitEvent('ready');
        await waitUntil(() => peer.requests.length === 100, { label: '100 upgrade requests' });
        await delay(SETTLE_MS);
        // 60 KiB each, under the 64 KiB bound: 100 heads held at once.
        const holding = await child.memory();
        const sockets = [...peer.sockets];
        const chunk = 'b'.repeat(8 * KiB);
        for (const deadline = Date.now() + 5000; sockets.some((s) => !s.destroyed) && Date.now() < deadline; await delay(25)) {
          for (const s of sockets) if (!s.destroyed) s.write(chunk);
        }
        await waitUntil(() => child.all('error').length === 100, { timeout: 5000, label: '100 error events' });
        const after = await child.memory();
        const text = `holding 100 heads of 60 KiB: ${growthText(ready, holding)} | after the errors: ${growthText(ready, after)}`;
        t.diagnostic(text);
        const errors = child.all('error');
        assert.deepEqual([...new Set(errors.map((e) => e.json))], [JSON.stringify({ ...E.EVENT, data: '0' })], text);
        assert.equal(after.counts.open ?? 0, 0, 'no client opened');
        // VmPeak while the heads are held; afterwards it moves with threads and malloc arenas.
        assertGrowth(ready, holding, { rssMiB: 64, peakMiB: 256 }, text);
        assertGrowth(ready, after, { rssMiB: 64 }, text);
      } finally {
        await child.end();
        await peer.close();
        live.servers.delete(peer);
      }
    });
  });
});
