// WebSocketServer connections: the connect / messageReceive / close / error events
// (S10–S12, S18–S20), listAllConnections (S13), send (S14) and close (S15), on/off
// (S2), with the npm `ws` client, the Python `websockets` client and this package's
// own client as peers on 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { webSocket } from './helpers/client.mjs';
import { assertBusinessError, expectRejection, assertThrows401 } from './helpers/assertions.mjs';
import { SE, localConfig, startServer, wsClient, wsClosed, wsReceived, maskedFrame, rawUpgraded } from './helpers/server.mjs';
import { delay, closePayload, withTimeout } from './helpers/servers.mjs';
import { pythonPeer } from '../scripts/python-peer.mjs';

describe('S10/S11: connect event and connection identity', () => {
  it('connect carries {clientIP, clientPort} of the TCP peer, after the handshake', async () => {
    const { server, rec, url } = await startServer();
    const ws = await wsClient(url);
    const { conn } = await rec.next('connect');
    assert.deepEqual(Object.keys(conn), ['clientIP', 'clientPort']);
    assert.equal(conn.clientIP, '127.0.0.1');
    assert.equal(conn.clientPort, ws._socket.localPort);
    ws.close();
    await server.stop();
  });
});

describe('S13: listAllConnections', () => {
  it('is synchronous, a fresh array sorted by "ip:port", [] before start and after close', async () => {
    const server = webSocket.createWebSocketServer();
    assert.deepEqual(server.listAllConnections('ignored'), []);
    await server.start(localConfig());
    const port = server.address().port;
    const clients = [];
    for (let i = 2; i <= 4; i++) clients.push(await wsClient(`ws://127.0.0.1:${port}`, { localAddress: `127.0.0.${i}` }));
    const deadline = Date.now() + 5000;
    while (server.listAllConnections().length < 3 && Date.now() < deadline) await delay(5);
    const list = server.listAllConnections();
    assert.ok(Array.isArray(list));
    assert.notEqual(list, server.listAllConnections(), 'a new array each call');
    const keys = list.map((c) => `${c.clientIP}:${c.clientPort}`);
    assert.deepEqual(keys, [...keys].sort());
    assert.deepEqual(list.map((c) => c.clientIP).sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    // Mutating what it returned changes nothing.
    list[0].clientIP = 'tampered';
    assert.notEqual(server.listAllConnections()[0].clientIP, 'tampered');
    // `await` on an array yields the array (the documented usage).
    assert.equal((await server.listAllConnections()).length, 3);
    await server.stop();
    assert.deepEqual(server.listAllConnections(), []);
  });

  it('XTS: non-empty after a client connects, empty 200 ms after close(conn)', async () => {
    const { server, rec, url } = await startServer();
    const ws = await wsClient(url);
    const { conn } = await rec.next('connect');
    assert.equal(server.listAllConnections().length, 1);
    assert.equal(await server.close(conn), true);
    await delay(200);
    assert.deepEqual(server.listAllConnections(), []);
    assert.deepEqual(await wsClosed(ws), { code: 1000, reason: 'CLOSE_NORMAL' });
    await server.stop();
  });
});

describe('S12/S14: messages and send', () => {
  it('text arrives as string, binary as a fresh ArrayBuffer; send echoes both', async () => {
    const { server, rec, url } = await startServer();
    server.on('messageReceive', (msg) => {
      rec.events.push({ type: 'messageReceive', msg });
      server.send(msg.data, msg.clientConnection);
    });
    const ws = await wsClient(url);
    const { conn } = await rec.next('connect');
    ws.send('héllo');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send('');
    ws.send(Buffer.alloc(0));
    const msgs = [];
    for (let i = 0; i < 4; i++) msgs.push((await rec.next('messageReceive')).msg);
    assert.equal(msgs[0].data, 'héllo');
    assert.ok(msgs[1].data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(msgs[1].data)], [1, 2, 3]);
    assert.equal(msgs[2].data, '');
    assert.ok(msgs[3].data instanceof ArrayBuffer && msgs[3].data.byteLength === 0);
    assert.deepEqual(msgs[0].clientConnection, conn);
    const got = await wsReceived(ws, 4);
    assert.equal(got[0], 'héllo');
    assert.deepEqual([...got[1]], [1, 2, 3]);
    assert.equal(got[2], '');
    assert.equal(got[3].length, 0);
    ws.close();
    await server.stop();
  });

  it('a fragmented message is delivered once, reassembled', async () => {
    const { server, rec, port } = await startServer();
    const socket = await rawUpgraded(port);
    await rec.next('connect');
    socket.write(maskedFrame(1, Buffer.from('frag'), false));
    socket.write(maskedFrame(0, Buffer.from('ment'), false));
    socket.write(maskedFrame(0, Buffer.from('ed'), true));
    assert.equal((await rec.next('messageReceive')).msg.data, 'fragmented');
    socket.destroy();
    await server.stop();
  });

  it('send argument checks: 401 shapes, −1 for clientIP "", 2302006 for unknown, −1 when closing', async () => {
    const { server, rec, url } = await startServer();
    const ws = await wsClient(url);
    const { conn } = await rec.next('connect');
    for (const args of [[], ['x'], ['x', conn, 1], [null, conn], [42, conn], [new Uint8Array(2), conn], [Buffer.from('x'), conn],
      ['x', null], ['x', {}], ['x', { clientIP: '127.0.0.1' }], ['x', { clientIP: 1, clientPort: 2 }], ['x', { clientIP: '127.0.0.1', clientPort: '80' }]]) {
      await expectRejection(server.send(...args), SE.PARAM);
    }
    await expectRejection(server.send('x'.repeat(5 * 1024 * 1024), conn), SE.PARAM);
    await expectRejection(server.send('x', { clientIP: '', clientPort: conn.clientPort }), SE.SEND_STATE);
    // XTS: a connection that does not exist.
    await expectRejection(server.send('x', { clientIP: '1.1.1.1', clientPort: 8888 }), SE.NO_CONNECTION);
    assert.equal(await server.send(new ArrayBuffer(5 * 1024 * 1024 - 16), conn), true, 'the R42 limit itself is fine');
    assert.equal(await server.close(conn), true);
    await expectRejection(server.send('late', conn), SE.SEND_STATE);
    await wsClosed(ws);
    await server.stop();
  });

  it('frames sent in one tick to many connections all arrive, in order per connection', async () => {
    const { server, rec, url } = await startServer();
    const clients = [];
    for (let i = 0; i < 10; i++) clients.push(await wsClient(url));
    for (let i = 0; i < 10; i++) await rec.next('connect');
    const conns = server.listAllConnections();
    for (let round = 0; round < 50; round++) for (const c of conns) server.send(`m${round}`, c);
    for (const ws of clients) {
      const got = await wsReceived(ws, 50);
      assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `m${i}`));
      ws.close();
    }
    await server.stop();
  });
});

describe('S15: close', () => {
  it('defaults to 1000 "CLOSE_NORMAL"; code and reason follow R47/R48', async () => {
    const { server, rec, url } = await startServer();
    const a = await wsClient(url);
    const { conn: ca } = await rec.next('connect');
    const b = await wsClient(url);
    const { conn: cb } = await rec.next('connect');
    const c = await wsClient(url);
    const { conn: cc } = await rec.next('connect');
    assert.equal(await server.close(ca), true);
    assert.equal(await server.close(cb, { code: 4001, reason: 'bye' }), true);
    assert.equal(await server.close(cc, { code: 1006 }), true);
    assert.deepEqual(await wsClosed(a), { code: 1000, reason: 'CLOSE_NORMAL' });
    assert.deepEqual(await wsClosed(b), { code: 4001, reason: 'bye' });
    assert.deepEqual(await wsClosed(c), { code: 1000, reason: 'CLOSE_NORMAL' });
    const closes = [await rec.next('close'), await rec.next('close'), await rec.next('close')];
    const byPort = new Map(closes.map((e) => [e.conn.clientPort, e.result]));
    assert.deepEqual({ ...byPort.get(cb.clientPort) }, { code: 4001, reason: 'bye', closeReason: 'bye' });
    assert.equal(byPort.get(ca.clientPort).reason, 'CLOSE_NORMAL');
    await server.stop();
  });

  it('argument checks: 401, 2302999 for clientIP "", 2302006 unknown, 2302999 when closing', async () => {
    const { server, rec, url } = await startServer();
    const ws = await wsClient(url);
    const { conn } = await rec.next('connect');
    for (const args of [[], [null], [{}], [conn, null], [conn, 'x'], [conn, undefined], [conn, {}, 3]]) {
      await expectRejection(server.close(...args), SE.PARAM);
    }
    await expectRejection(server.close({ clientIP: '', clientPort: 1 }), SE.OTHER);
    await expectRejection(server.close({ clientIP: '1.1.1.1', clientPort: 8888 }), SE.NO_CONNECTION);
    assert.equal(await server.close(conn, {}), true);
    await expectRejection(server.close(conn), SE.OTHER);
    await wsClosed(ws);
    await server.stop();
  });

  it('S2 quirk: a function among the first two arguments gets the 401 and close returns undefined', async () => {
    const server = webSocket.createWebSocketServer();
    for (const args of [[() => {}], [{ clientIP: 'x', clientPort: 1 }, () => {}], [null, () => {}]]) {
      const fn = args.find((a) => typeof a === 'function');
      let got;
      let sync = true;
      const called = new Promise((resolve) => {
        args[args.indexOf(fn)] = (err) => {
          got = { err, sync };
          resolve();
        };
      });
      assert.equal(server.close(...args), undefined);
      sync = false;
      await withTimeout(called, 2000, 'quirk callback');
      assert.equal(got.sync, false, 'called asynchronously');
      assertBusinessError(got.err, SE.PARAM);
    }
  });
});

describe('S18/S19/S20: close and error events', () => {
  it('a client close frame reports its status and reason ("The link is down" when empty)', async () => {
    const { server, rec, url } = await startServer();
    const a = await wsClient(url);
    await rec.next('connect');
    a.close(4321, 'client says bye');
    let e = await rec.next('close');
    assert.deepEqual({ ...e.result }, { code: 4321, reason: 'client says bye', closeReason: 'client says bye' });
    assert.deepEqual(e.listed, [], 'S19: removed before the close event');
    const b = await wsClient(url);
    await rec.next('connect');
    b.close(1000);
    e = await rec.next('close');
    assert.deepEqual({ ...e.result }, { code: 1000, reason: 'The link is down', closeReason: 'The link is down' });
    assert.equal(rec.of('error').length, 0, 'a clean close has no error event');
    await server.stop();
  });

  it('a close frame without status reports 1000 "The link is down"', async () => {
    const { server, rec, port } = await startServer();
    const socket = await rawUpgraded(port);
    await rec.next('connect');
    socket.write(maskedFrame(8));
    const e = await rec.next('close');
    assert.equal(e.result.code, 1000);
    assert.equal(e.result.reason, 'The link is down');
    socket.destroy();
    await server.stop();
  });

  it('an abnormal disconnect is error (200) then close 1006', async () => {
    const { server, rec, port } = await startServer();
    const socket = await rawUpgraded(port);
    const { conn } = await rec.next('connect');
    socket.write(maskedFrame(1, Buffer.from('half'), false));
    await delay(20);
    socket.destroy();
    const err = await rec.next('error');
    assertBusinessError(err.err, SE.EVENT);
    const e = await rec.next('close');
    assert.deepEqual(e.conn, conn);
    assert.deepEqual({ ...e.result }, { code: 1006, reason: 'The link is down', closeReason: 'The link is down' });
    const order = rec.events.map((x) => x.type);
    assert.deepEqual(order, [], 'all events taken in order');
    await server.stop();
  });

  it('a peer close during a send is handled: sends after it are −1, the close event follows', async () => {
    const { server, rec, port } = await startServer();
    const socket = await rawUpgraded(port);
    const { conn } = await rec.next('connect');
    socket.write(maskedFrame(8, closePayload(1000, 'x')));
    await rec.next('close');
    await expectRejection(server.send('gone', conn), SE.NO_CONNECTION);
    socket.destroy();
    await server.stop();
  });
});

describe('S2: on / off', () => {
  it('throw 401 for bad arguments, ignore unknown types, one listener per type', async () => {
    const server = webSocket.createWebSocketServer();
    assertThrows401(() => server.on('connect'), 'on without callback');
    assertThrows401(() => server.on(null, () => {}), 'on(null, fn)');
    assertThrows401(() => server.on('connect', () => {}, 1), 'on with 3 args');
    assertThrows401(() => server.off(), 'off()');
    assertThrows401(() => server.off(null), 'off(null)');
    assertThrows401(() => server.off('connect', 'x'), 'off with non-function');
    assert.equal(server.on('nonsense', () => {}), undefined);
    assert.equal(server.off('nonsense'), undefined);
    // XTS: on/off for every event, with and without the callback.
    const seen = [];
    await server.start(localConfig());
    const url = `ws://127.0.0.1:${server.address().port}`;
    for (const type of ['connect', 'messageReceive', 'close', 'error']) {
      const first = () => seen.push(`first ${type}`);
      const second = () => seen.push(`second ${type}`);
      server.on(type, first);
      server.on(type, second); // replaces first (R4)
      server.off(type, first); // not the registered one: no-op
      assert.equal(server.off(type, first), undefined);
    }
    const ws = await wsClient(url);
    ws.send('hi');
    const deadline = Date.now() + 5000;
    while (!seen.includes('second messageReceive') && Date.now() < deadline) await delay(5);
    for (const type of ['connect', 'messageReceive', 'close', 'error']) server.off(type);
    ws.close();
    await wsClosed(ws);
    await delay(50);
    assert.deepEqual(seen, ['second connect', 'second messageReceive']);
    await server.stop();
  });

  it('R7: a throwing listener does not stop later events', async () => {
    const { server, rec, url } = await startServer();
    const thrown = [];
    const onUncaught = (e) => thrown.push(e.message);
    // The test runner's own handler would fail the test: set it aside meanwhile.
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      server.on('messageReceive', () => {
        throw new Error('listener failed');
      });
      const ws = await wsClient(url);
      await rec.next('connect');
      ws.send('a');
      ws.close();
      await rec.next('close');
      await delay(10);
      assert.deepEqual(thrown, ['listener failed']);
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of saved) process.on('uncaughtException', l);
    }
    await server.stop();
  });
});

describe('peers: this package\'s client and Python websockets', () => {
  it('this package\'s own client: open, echo, close both ways', async () => {
    const { server, rec, url } = await startServer();
    server.on('messageReceive', ({ data, clientConnection }) => server.send(data, clientConnection));
    const ws = webSocket.createWebSocket();
    const got = [];
    const closed = new Promise((resolve) => ws.on('close', (err, v) => resolve(v)));
    ws.on('open', () => {
      ws.send('one');
      ws.send(new Uint8Array([9, 8]).buffer);
    });
    ws.on('message', (err, v) => {
      got.push(v);
      if (got.length === 2) ws.close({ code: 4000, reason: 'done' });
    });
    await ws.connect(url);
    assert.deepEqual(await withTimeout(closed, 5000, 'close'), { code: 4000, reason: 'done' });
    assert.equal(got[0], 'one');
    assert.deepEqual([...new Uint8Array(got[1])], [9, 8]);
    const e = await rec.next('close');
    assert.equal(e.result.code, 4000);
    await server.stop();
  });

  it('Python websockets client: echo of text and binary, then a clean close', async () => {
    // A venv with the pinned websockets, made on first use; throws (fails) with what to install.
    const python = pythonPeer();
    const { server, rec, url } = await startServer();
    server.on('messageReceive', ({ data, clientConnection }) => server.send(data, clientConnection));
    const script = `
import asyncio, sys
from websockets.asyncio.client import connect
async def main():
    async with connect(sys.argv[1]) as ws:
        await ws.send("from python")
        print(await ws.recv())
        await ws.send(b"\\x00\\x01\\x02")
        print(list(await ws.recv()))
asyncio.run(main())
`;
    const child = spawn(python, ['-c', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (errOut += d));
    const code = await withTimeout(new Promise((r) => child.on('exit', r)), 10000, 'python client');
    assert.equal(code, 0, errOut);
    assert.equal(out, 'from python\n[0, 1, 2]\n');
    const e = await rec.next('close');
    assert.equal(e.result.code, 1000);
    await server.stop();
  });
});
