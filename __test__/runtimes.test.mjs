// Bun and Deno load Node-API addons too, but their libuv `uv_*` exports are stand-ins: reading
// a connection on the JS thread through `uv_poll` aborts Bun ("unsupported uv function:
// uv_poll_init") and kills Deno (V8 "Cannot create a handle without a HandleScope"). lib/native.js
// tells the addon which runtime hosts it, and connections then stay on the I/O thread.
//  * the package's own client/server echo (`npm start`, examples/echo-demo.mjs) runs under each
//    runtime with DEFAULT settings and exits 0 by itself, with the demo's full output in Node's
//    order (R63). Deno runs `process.nextTick` callbacks queued inside a Node-API callback only
//    later, after the next events, so call callbacks settled with it come out of order there;
//  * with OHOS_WS_DEBUG=1 both connections say they are read on the I/O thread, and
//    OHOS_WS_POLL=js cannot bring the JS-thread home back there;
//  * under Node the client is still read on the JS thread (the fallback is for the other hosts only).
// The binaries come from the devDependencies `bun` and `deno` (npm packages that ship them);
// a missing one fails the test with what to run, never skips it. Loopback only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, transcript } from './helpers/process.mjs';
import { ECHO_DEMO_LINES } from './helpers/demo.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = join('examples', 'echo-demo.mjs');
const RUN_BOUND_MS = 60_000;
const { devDependencies = {} } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const ARCH = { x64: 'x64', arm64: 'aarch64' }[process.arch] ?? process.arch;

/**
 * How each runtime is found and started. The `.bin` link is the postinstall's real binary;
 * the platform package is the same binary straight from the registry tarball, for installs
 * that ran without scripts.
 */
const RUNTIMES = {
  bun: {
    candidates: [join('node_modules', '.bin', 'bun'), join('node_modules', '@oven', `bun-${process.platform}-${ARCH}`, 'bin', 'bun')],
    args: (script) => [script],
  },
  deno: {
    candidates: [join('node_modules', 'deno', 'deno'), join('node_modules', '@deno', `${process.platform}-${process.arch}-glibc`, 'deno')],
    // The fewest permissions the demo needs: load the addon (ffi) and the package's files
    // (read) from the checkout; the proxy variables lib/options.js reads for R31 (env).
    // `--unstable-detect-cjs`: outside node_modules Deno treats a `.js` file as ESM unless the
    // package.json says "type": "commonjs", and index.js is CommonJS.
    args: (script) => [
      'run',
      '--unstable-detect-cjs',
      `--allow-ffi=${ROOT}`,
      `--allow-read=${ROOT}`,
      '--allow-env=HTTP_PROXY,http_proxy,HTTPS_PROXY,https_proxy,NO_PROXY,no_proxy',
      script,
    ],
  },
};

/** The runtime's binary, checked to be the pinned version; fails with the fix otherwise. */
async function binary(name) {
  const pinned = devDependencies[name];
  assert.ok(pinned, `package.json has no devDependency "${name}": add it (exact version) and run npm install`);
  const tried = [];
  for (const candidate of RUNTIMES[name].candidates) {
    const file = join(ROOT, candidate);
    if (!existsSync(file)) {
      tried.push(`${candidate}: missing`);
      continue;
    }
    const r = await run(file, ['--version'], { cwd: ROOT, timeout: 30_000 });
    if (r.code === 0 && r.stdout.includes(pinned)) return file;
    tried.push(`${candidate}: \`--version\` gave exit ${r.code}, ${JSON.stringify((r.stdout + r.stderr).slice(0, 200))}`);
  }
  assert.fail(`no ${name} ${pinned} binary: run \`npm install\` in ${ROOT} (the devDependency ${name} ships it)\n${tried.join('\n')}`);
}

/** Runs the echo demo with `command`; the environment holds no OHOS_WS_* unless `env` adds it. */
function runDemo(command, args, env = {}) {
  const base = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(base)) if (key.startsWith('OHOS_WS_')) delete base[key];
  return run(command, args, { cwd: ROOT, env: { ...base, ...env }, timeout: RUN_BOUND_MS });
}

/**
 * A clean run: exit 0 by itself within the bound, the demo's whole output in Node's order
 * (R63: the connect callback before `open`; close()'s callback before the close event).
 */
function assertEcho(name, r) {
  const context = transcript(r);
  assert.equal(r.signal, null, `${name} was killed (crash or the ${RUN_BOUND_MS} ms bound)\n${context}`);
  assert.equal(r.code, 0, context);
  const [listening, ...rest] = r.stdout.split('\n').filter(Boolean);
  assert.match(listening ?? '', /^\[demo\] echo server listening at ws:\/\/127\.0\.0\.1:\d+$/, context);
  assert.deepEqual(rest, ECHO_DEMO_LINES, context);
}

/** The `open; read on the … thread` lines of an OHOS_WS_DEBUG=1 run, client first. */
function homes(stderr) {
  const lines = stderr.split('\n').filter((l) => l.includes(': open; read on the '));
  return {
    server: lines.filter((l) => l.startsWith('ohos-ws: client ')).map((l) => l.replace(/.*read on the /, '')),
    client: lines.filter((l) => l.startsWith('ohos-ws: ws://')).map((l) => l.replace(/.*read on the /, '')),
  };
}

for (const name of Object.keys(RUNTIMES)) {
  describe(`${name}: the client/server echo`, { concurrency: 1 }, () => {
    test('with the default settings: full echo, clean close 1000, exit 0, nothing on stderr', async () => {
      const bin = await binary(name);
      const r = await runDemo(bin, RUNTIMES[name].args(DEMO));
      assertEcho(name, r);
      assert.equal(r.stderr, '', transcript(r));
    });

    test('OHOS_WS_DEBUG=1: the client and the server connection are read on the I/O thread', async () => {
      const bin = await binary(name);
      const r = await runDemo(bin, RUNTIMES[name].args(DEMO), { OHOS_WS_DEBUG: '1' });
      assertEcho(name, r);
      assert.deepEqual(homes(r.stderr), { client: ['I/O thread'], server: ['I/O thread'] }, transcript(r));
    });

    test('OHOS_WS_POLL=js does not bring the JS-thread home back: still a clean echo on the I/O thread', async () => {
      const bin = await binary(name);
      const r = await runDemo(bin, RUNTIMES[name].args(DEMO), { OHOS_WS_POLL: 'js', OHOS_WS_DEBUG: '1' });
      assertEcho(name, r);
      assert.deepEqual(homes(r.stderr), { client: ['I/O thread'], server: ['I/O thread'] }, transcript(r));
    });
  });
}

test('node (control): the same demo reads the client on the JS thread, the server on the I/O thread', async () => {
  const r = await runDemo(process.execPath, [DEMO], { OHOS_WS_DEBUG: '1' });
  assertEcho('node', r);
  assert.deepEqual(homes(r.stderr), { client: ['JS thread'], server: ['I/O thread'] }, transcript(r));
});
