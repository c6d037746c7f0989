// The server's side of the upgrade handshake: any path (S8), subprotocol selection
// (S8), refusals of requests that are not valid upgrades (400 / 426 / 431), the S9
// per-IP limits with 403 and an `error` event, the handshake time bound, and the cap on
// handshakes in progress.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { webSocket } from './helpers/client.mjs';
import { assertBusinessError } from './helpers/assertions.mjs';
import { SE, localConfig, startServer, wsClient, wsClosed } from './helpers/server.mjs';
import { delay, withTimeout } from './helpers/servers.mjs';
import testing from '../lib/testing.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const UPGRADE = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13'];

/**
 * Sends `request` raw and collects the answer: until the server closes, or (for a
 * 101, after which the server keeps the connection) until the end of its head.
 */
async function exchange(port, request, { localAddress } = {}) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  let data = '';
  const done = new Promise((resolve) => {
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.startsWith('HTTP/1.1 101 ') && data.includes('\r\n\r\n')) resolve();
    });
    socket.once('close', resolve);
  });
  await new Promise((r) => socket.once('connect', r));
  socket.write(request);
  await withTimeout(done, 5000, 'server answers');
  socket.destroy();
  return data;
}

function requestWith(lines, first = 'GET /chat HTTP/1.1') {
  return `${first}\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

describe('S8: acceptance and subprotocol', () => {
  it('any request path is accepted', async () => {
    const { server, rec, url } = await startServer();
    for (const path of ['/', '/a/b/c?x=1&y=%20', '/?']) {
      const ws = await wsClient(url + path);
      await rec.next('connect');
      ws.close();
      await wsClosed(ws);
    }
    await server.stop();
  });

  it('config.protocol is selected when the client offers it, else none', async () => {
    const { server, url } = await startServer(localConfig({ protocol: 'chat' }));
    const offered = await wsClient(url, { protocols: ['other', 'chat'] });
    assert.equal(offered.protocol, 'chat');
    offered.close();
    // Not offered: a 101 without the header (checked raw; clients differ on accepting it).
    const raw = await exchange(server.address().port, requestWith([...UPGRADE, 'Sec-WebSocket-Protocol: other']));
    assert.match(raw, /^HTTP\/1.1 101 /);
    assert.doesNotMatch(raw, /Sec-WebSocket-Protocol/i);
    await server.stop();
  });

  it('this package\'s client sees the selected protocol in openInfo (R58)', async () => {
    const { server, url } = await startServer(localConfig({ protocol: 'chat' }));
    const ws = webSocket.createWebSocket();
    const info = new Promise((resolve) => ws.on('openInfo', (err, v) => resolve(v)));
    await ws.connect(url, { protocol: 'x, chat' });
    assert.equal((await withTimeout(info, 5000, 'openInfo')).protocol, 'chat');
    const closed = new Promise((resolve) => ws.on('close', resolve));
    ws.close();
    await closed;
    await server.stop();
  });

  it('without config.protocol no protocol is selected', async () => {
    const { server } = await startServer(localConfig({ protocol: '' }));
    const raw = await exchange(server.address().port, requestWith([...UPGRADE, 'Sec-WebSocket-Protocol: chat']));
    assert.match(raw, /^HTTP\/1.1 101 /);
    assert.doesNotMatch(raw, /Sec-WebSocket-Protocol/i);
    await server.stop();
  });
});

describe('refusals of requests that are not upgrades', () => {
  it('a plain HTTP request gets 426 Upgrade Required', async () => {
    const { server, port, rec } = await startServer();
    const status = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    assert.equal(status, 426);
    assert.equal(rec.of('error').length, 0);
    await server.stop();
  });

  it('S8: plain HTTP of any method or version without upgrade headers gets 426', async () => {
    const { server, port, rec } = await startServer();
    const post = await exchange(port, 'POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi');
    assert.match(post, /^HTTP\/1.1 426 Upgrade Required\r\n/);
    const http10 = await exchange(port, 'GET / HTTP/1.0\r\n\r\n');
    assert.match(http10, /^HTTP\/1.1 426 /);
    assert.equal(rec.of('error').length, 0);
    await server.stop();
  });

  it('bad upgrade requests get 400: not GET, no key, bad key, wrong version, HTTP/1.0, garbage', async () => {
    const { server, port, rec } = await startServer();
    const cases = [
      requestWith(UPGRADE, 'POST /chat HTTP/1.1'),
      requestWith(UPGRADE.filter((l) => !l.startsWith('Sec-WebSocket-Key'))),
      requestWith([...UPGRADE.slice(0, 2), 'Sec-WebSocket-Key: c2hvcnQ=', UPGRADE[3]]),
      requestWith([...UPGRADE.slice(0, 3), 'Sec-WebSocket-Version: 8']),
      requestWith(UPGRADE, 'GET /chat HTTP/1.0'),
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n',
    ];
    for (const request of cases) {
      const answer = await exchange(port, request);
      assert.match(answer, /^HTTP\/1.1 400 Bad Request\r\n/, JSON.stringify(request.slice(0, 40)));
    }
    assert.deepEqual(server.listAllConnections(), []);
    assert.equal(rec.of('connect').length, 0);
    await server.stop();
  });

  it('a request head over 16 KiB gets 431', async () => {
    const { server, port } = await startServer();
    const answer = await exchange(port, requestWith([...UPGRADE, `X-Pad: ${'a'.repeat(17 * 1024)}`]));
    assert.match(answer, /^HTTP\/1.1 431 /);
    // An endless header line is cut off at the bound, not read forever.
    const endless = await exchange(port, `GET / HTTP/1.1\r\nX-Pad: ${'b'.repeat(20 * 1024)}`);
    assert.match(endless, /^HTTP\/1.1 431 /);
    await server.stop();
  });
});

describe('S9: per-IP limits', () => {
  it('more than maxConnectionsForOneClient from one IP: 403 and an error event', async () => {
    const { server, rec, url, port } = await startServer(localConfig({ maxConnectionsForOneClient: 2 }));
    const a = await wsClient(url, { localAddress: '127.0.0.5' });
    const b = await wsClient(url, { localAddress: '127.0.0.5' });
    await rec.next('connect');
    await rec.next('connect');
    const answer = await exchange(port, requestWith(UPGRADE), { localAddress: '127.0.0.5' });
    assert.match(answer, /^HTTP\/1.1 403 Forbidden\r\n/);
    const { err } = await rec.next('error');
    assertBusinessError(err, SE.EVENT);
    assert.match(err.detail, /127\.0\.0\.5/);
    // Another IP is fine, and a freed slot is reusable.
    const c = await wsClient(url, { localAddress: '127.0.0.6' });
    await rec.next('connect');
    a.close();
    await rec.next('close');
    const d = await wsClient(url, { localAddress: '127.0.0.5' });
    await rec.next('connect');
    assert.deepEqual(server.listAllConnections().map((x) => x.clientIP).sort(), ['127.0.0.5', '127.0.0.5', '127.0.0.6']);
    for (const ws of [b, c, d]) ws.close();
    await server.stop();
  });

  it('more than maxConcurrentClientsNumber distinct IPs: 403 and an error event', async () => {
    const { server, rec, url, port } = await startServer(localConfig({ maxConcurrentClientsNumber: 2 }));
    const a = await wsClient(url, { localAddress: '127.0.0.2' });
    const b = await wsClient(url, { localAddress: '127.0.0.3' });
    const a2 = await wsClient(url, { localAddress: '127.0.0.2' });
    const answer = await exchange(port, requestWith(UPGRADE), { localAddress: '127.0.0.4' });
    assert.match(answer, /^HTTP\/1.1 403 /);
    assertBusinessError((await rec.next('error')).err, SE.EVENT);
    for (const ws of [a, b, a2]) ws.close();
    await server.stop();
  });

  it('a flood past the limits is refused and leaves the server working', async () => {
    const { server, rec, url, port } = await startServer(localConfig({ maxConcurrentClientsNumber: 1, maxConnectionsForOneClient: 1 }));
    const keep = await wsClient(url);
    const answers = await Promise.all(Array.from({ length: 50 }, () => exchange(port, requestWith(UPGRADE))));
    assert.ok(answers.every((a) => a.startsWith('HTTP/1.1 403 ')));
    await delay(50);
    assert.equal(rec.of('error').length, 50);
    assert.equal(server.listAllConnections().length, 1);
    keep.send('still here');
    const { msg } = await rec.next('messageReceive');
    assert.equal(msg.data, 'still here');
    keep.close();
    await server.stop();
  });
});

describe('handshake time bound', () => {
  after(() => testing.setHandshakeTimeoutMs(0));

  it('a client that never sends a request, or sends one byte at a time, is cut off', async () => {
    testing.setHandshakeTimeoutMs(300);
    const { server, port, rec } = await startServer();
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    const silentClosed = new Promise((r) => silent.once('close', r));
    const slow = net.connect(port, '127.0.0.1');
    slow.on('error', () => {});
    const slowClosed = new Promise((r) => slow.once('close', r));
    const request = requestWith(UPGRADE);
    let i = 0;
    const drip = setInterval(() => {
      if (!slow.destroyed && i < request.length) slow.write(request[i++]);
    }, 50);
    try {
      await withTimeout(silentClosed, 5000, 'silent client cut off');
      await withTimeout(slowClosed, 5000, 'slowloris client cut off');
    } finally {
      clearInterval(drip);
    }
    assert.ok(i < request.length, 'cut off before the request was complete');
    assert.equal(rec.of('connect').length, 0);
    // Normal clients still get in.
    testing.setHandshakeTimeoutMs(0);
    const ws = await wsClient(`ws://127.0.0.1:${port}`);
    ws.close();
    await server.stop();
  });

  it('at most 128 handshakes run at once: one more socket is closed at once, and a freed slot is reused', async () => {
    // SERVER_PENDING_HANDSHAKES_MAX (src/constants.rs): what a flood of silent sockets can hold.
    const PENDING_MAX = 128;
    const { server, port } = await startServer();
    const open = (list) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.closedAt = new Promise((r) => s.once('close', () => r(Date.now())));
      list.push(s);
      return new Promise((r) => s.once('connect', r));
    };
    const silent = [];
    try {
      for (let i = 0; i < PENDING_MAX; i++) await open(silent);
      // Let the server take every one of them into a handshake before the next arrives.
      await delay(300);
      const extra = [];
      await open(extra);
      const closedAt = await withTimeout(extra[0].closedAt, 3000, 'the 129th socket closed at once');
      assert.ok(closedAt > 0);
      let stillOpen = 0;
      await delay(100);
      for (const s of silent) if (!s.destroyed && s.readyState === 'open') stillOpen++;
      assert.equal(stillOpen, PENDING_MAX, 'the 128 in progress stay');
      // One handshake ends: a real client gets its slot.
      silent.pop().destroy();
      await delay(300);
      const ws = await wsClient(`ws://127.0.0.1:${port}`);
      ws.close();
      await wsClosed(ws);
    } finally {
      for (const s of silent) s.destroy();
      await server.stop();
    }
  });

  it('stop() ends handshakes in flight at once', async () => {
    const { server, port } = await startServer();
    const idle = net.connect(port, '127.0.0.1');
    idle.on('error', () => {});
    const closed = new Promise((r) => idle.once('close', r));
    await new Promise((r) => idle.once('connect', r));
    await delay(20);
    assert.equal(await withTimeout(server.stop(), 5000, 'stop'), true);
    await withTimeout(closed, 5000, 'idle socket closed');
  });
});
