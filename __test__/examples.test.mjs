// The runnable examples: `npm start` (examples/echo-demo.mjs, the documented client
// example against our own server) and the chat server of examples/chat-server.mjs,
// each run as a user runs it, in its own process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { wsClient, wsReceived, wsClosed } from './helpers/server.mjs';
import { withTimeout } from './helpers/servers.mjs';
import { ECHO_DEMO_LINES } from './helpers/demo.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.out += d));
  child.done = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return child;
}

describe('examples', () => {
  it('npm start: the documented example runs against our own server and exits by itself', async () => {
    const child = run(['examples/echo-demo.mjs']);
    const { code } = await withTimeout(child.done, 15_000, 'echo demo exits');
    assert.equal(code, 0, child.out);
    const lines = child.out.trim().split('\n').slice(1);
    assert.deepEqual(lines, ECHO_DEMO_LINES);
  });

  it('chat server: messages are broadcast to every client; SIGINT stops it with 1001', async () => {
    const child = run(['examples/chat-server.mjs', '0']);
    try {
      const port = await withTimeout(
        new Promise((resolve) => {
          child.stdout.on('data', () => {
            const m = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(child.out);
            if (m) resolve(Number(m[1]));
          });
        }),
        10_000,
        'chat server listening',
      );
      const a = await wsClient(`ws://127.0.0.1:${port}`);
      await wsReceived(a, 1);
      const b = await wsClient(`ws://127.0.0.1:${port}`);
      await wsReceived(a, 2);
      await wsReceived(b, 1);
      a.send('hello all');
      const [, , toA] = await wsReceived(a, 3);
      const [, toB] = await wsReceived(b, 2);
      assert.match(toA, /^127\.0\.0\.1:\d+: hello all$/);
      assert.equal(toB, toA);
      assert.match(b.received[0], /joined \(2 here\)/);
      child.kill('SIGINT');
      assert.deepEqual(await wsClosed(a), { code: 1001, reason: 'server is going away' });
      const { code } = await withTimeout(child.done, 10_000, 'chat server exits');
      assert.equal(code, 0, child.out);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
