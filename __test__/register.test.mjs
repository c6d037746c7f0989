// `node --import ohos-net-websocket/register` (zero-edit ArkTS; Node 18.19+) and the package's exports map.
//  * the exports map resolves `.`, `./register`, `./package.json`, `./lib/testing.js` and keeps
//    the internals private; CommonJS `require` and ESM `import webSocket` / `import { webSocket }`
//    give the one namespace object (R1);
//  * without module.register the hook refuses with its own message;
//  * the hook maps `@kit.NetworkKit`, `@ohos.net.webSocket`, `@kit.BasicServicesKit` and
//    `@ohos.base`, and leaves every other specifier alone;
//  * every seed example, type-stripped with its ORIGINAL import lines, runs under the hook in
//    a child process exactly as it runs with its imports pointed at index.js (the form
//    seeds.test.mjs asserts in detail), whether the stripper drops type-only imports (tsc) or
//    keeps them (verbatimModuleSyntax, like Node's own type stripping);
//  * the canonical examples complete their flow against a local server under the hook;
//  * `tsc --noEmit --strict` compiles the seeds with their original imports through
//    `"types": ["ohos-net-websocket/register"]` (register.d.ts), under three module settings.
// Children run with cwd = the repository, so `ohos-net-websocket/register` resolves through
// the package's self-reference, as it would from a project's node_modules. Loopback only.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run, transcript } from './helpers/process.mjs';
import {
  SEEDS, seedFiles, stripTypes, pointImportsAt, startByeServer, BYE_RUNS, assertByeRun,
} from './helpers/seeds.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const INDEX_URL = pathToFileURL(join(ROOT, 'index.js')).href;
const HOOK = ['--import', 'ohos-net-websocket/register'];
const require = createRequire(import.meta.url);

const TMP = mkdtempSync(join(tmpdir(), 'ohos-ws-register-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

/** Writes `source` as TMP/<name> and runs it with node (cwd = the repository). */
function runScript(name, source, nodeArgs = []) {
  const file = join(TMP, name);
  writeFileSync(file, source);
  return run(process.execPath, [...nodeArgs, file], { cwd: ROOT });
}

/** The exception line a failed example printed (`TypeError: …`), without the stack. */
function thrownLine(stderr) {
  return /^\w*Error\b.*$/m.exec(stderr)?.[0];
}

// ---------------------------------------------------------------------------------------------------------
// exports map

test('exports map: the public subpaths resolve, internals are not exported', () => {
  assert.equal(require.resolve('ohos-net-websocket'), join(ROOT, 'index.js'));
  assert.equal(require.resolve('ohos-net-websocket/register'), join(ROOT, 'register.mjs'));
  assert.equal(require.resolve('ohos-net-websocket/package.json'), join(ROOT, 'package.json'));
  // test hooks the Autobahn driver and the docs reach by this name
  assert.equal(require.resolve('ohos-net-websocket/lib/testing.js'), join(ROOT, 'lib', 'testing.js'));
  for (const hidden of ['ohos-net-websocket/lib/errors.js', 'ohos-net-websocket/binding.js', 'ohos-net-websocket/lib/register/hooks.mjs']) {
    assert.throws(() => require.resolve(hidden), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, hidden);
  }
  const { exports } = require('../package.json');
  assert.equal(exports['.'].types, './index.d.ts');
  assert.equal(exports['./register'].types, './register.d.ts');
});

test('CommonJS require and ESM default / named imports give the same namespace (R1)', async () => {
  const cjs = require('ohos-net-websocket');
  assert.equal(cjs, require('../index.js'));
  const esm = await import('ohos-net-websocket');
  assert.equal(esm.default, cjs);
  assert.equal(esm.webSocket, cjs);
  // --eval with cwd = the repository: the package name resolves through its self-reference
  const source = [
    "import webSocket, { webSocket as named } from 'ohos-net-websocket';",
    "import { createRequire } from 'node:module';",
    "const cjs = createRequire(process.cwd() + '/package.json')('ohos-net-websocket');",
    'console.log(webSocket === named, webSocket === cjs, typeof webSocket.createWebSocket, webSocket.TlsProtocol.TLS_V_1_3);',
  ].join('\n');
  const r = await run(process.execPath, ['--input-type=module', '--eval', source], { cwd: ROOT });
  assert.equal(r.code, 0, transcript(r));
  assert.equal(r.stdout, 'true true function 3\n');
});

// ---------------------------------------------------------------------------------------------------------
// the hook itself

test('the hook maps the four OpenHarmony module names and passes everything else on', async () => {
  writeFileSync(join(TMP, 'neighbour.mjs'), 'export const here = true;\n');
  const r = await runScript('aliases.mjs', [
    "import { webSocket } from '@kit.NetworkKit';",
    "import legacy from '@ohos.net.webSocket';",
    "import { BusinessError } from '@kit.BasicServicesKit';",
    "import { BusinessError as BaseError, Callback, AsyncCallback, ErrorCallback } from '@ohos.base';",
    `import pkg from ${JSON.stringify(INDEX_URL)};`,
    "import { here } from './neighbour.mjs';",
    "import { existsSync } from 'node:fs';",
    'const err = await webSocket.createWebSocket().close().catch((e) => e);',
    'console.log(JSON.stringify({',
    '  same: webSocket === legacy && legacy === pkg,',
    '  create: typeof webSocket.createWebSocket,',
    '  baseSame: BusinessError === BaseError,',
    '  instance: err instanceof BusinessError,',
    '  error: JSON.stringify(err),',
    '  typeNames: [Callback, AsyncCallback, ErrorCallback].every((v) => v === undefined),',
    '  passThrough: here && typeof existsSync === "function",',
    '}));',
  ].join('\n'), HOOK);
  assert.equal(r.code, 0, transcript(r));
  assert.deepEqual(JSON.parse(r.stdout), {
    same: true,
    create: 'function',
    baseSame: true,
    instance: true,
    error: '{"code":2302999,"message":"Websocket Unknown Other Error"}', // R51: close while idle
    typeNames: true,
    passThrough: true,
  });
});

test('on a Node.js without module.register (< 18.19) the hook refuses with what to do, before any app code', async () => {
  // Such a Node, simulated: module.register removed from the builtin before the hook loads.
  // scripts/node-versions.sh checks the same message on a real Node 18.18.
  writeFileSync(join(TMP, 'no-register.cjs'), "const m = require('node:module');\ndelete m.register;\nm.syncBuiltinESMExports();\n");
  const r = await runScript('never-runs.mjs', "console.log('app ran');\n", ['--require', join(TMP, 'no-register.cjs'), ...HOOK]);
  assert.equal(r.code, 1, transcript(r));
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    new RegExp(`Error: ohos-net-websocket/register needs Node\\.js 18\\.19 or newer \\(module\\.register\\); this is ${process.version.replaceAll('.', '\\.')}\\. ` +
      "Without it, import 'ohos-net-websocket' instead of the OpenHarmony module names\\."),
  );
});

test('without the hook the OpenHarmony names do not resolve (the hook is what maps them)', async () => {
  const r = await runScript('no-hook.mjs', "import { webSocket } from '@kit.NetworkKit';\nconsole.log(webSocket);\n");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ERR_INVALID_MODULE_SPECIFIER|ERR_MODULE_NOT_FOUND/);
});

// ---------------------------------------------------------------------------------------------------------
// every seed example, original imports, under the hook

describe('every seed example runs under the hook with its original import lines', { concurrency: 4 }, () => {
  const files = seedFiles();
  test('all 85 examples are listed', () => assert.equal(files.length, 85));

  test('002-02-full-example.ts does not parse (doc error, see seeds/README.md), so it cannot run anywhere', () => {
    assert.throws(() => stripTypes('002-02-full-example.ts'), SyntaxError);
  });

  for (const file of files.filter((f) => f !== '002-02-full-example.ts')) {
    test(`${file}: same output under the hook as with its imports pointed at index.js`, async () => {
      const elided = stripTypes(file);
      const [reference, hooked, verbatim] = await Promise.all([
        runScript(`${file}.reference.mjs`, pointImportsAt(elided, INDEX_URL)),
        runScript(`${file}.hook.mjs`, elided, HOOK),
        runScript(`${file}.verbatim.mjs`, stripTypes(file, { verbatim: true }), HOOK),
      ]);
      assert.doesNotMatch(reference.stderr, /ERR_MODULE_NOT_FOUND/, transcript(reference));
      for (const [label, r] of [['hook', hooked], ['hook, imports kept verbatim', verbatim]]) {
        const context = `${label}:\n${transcript(r)}\nreference:\n${transcript(reference)}`;
        assert.equal(r.code, reference.code, context);
        assert.equal(r.stdout, reference.stdout, context);
        assert.equal(thrownLine(r.stderr), thrownLine(reference.stderr), context);
      }
    });
  }
});

describe('the canonical examples complete against a local server under the hook', { concurrency: 2 }, () => {
  for (const [file, expected] of Object.entries(BYE_RUNS)) {
    for (const verbatim of [false, true]) {
      test(`${file}${verbatim ? ' (imports kept verbatim)' : ''}: full flow (R19, R44, R49, R57, R59, R61)`, async (t) => {
        const server = await startByeServer();
        t.after(() => server.close());
        const js = stripTypes(file, { url: server.url, verbatim });
        const r = await runScript(`${file}.bye${verbatim ? '.verbatim' : ''}.mjs`, js, HOOK);
        assert.equal(r.code, 0, transcript(r));
        assertByeRun(r.stdout, expected, transcript(r));
        await server.waitForCloses(1);
        assert.deepEqual(server.closes, [{ code: 1000, reason: 'CLOSE_NORMAL' }]);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// type checking with the original imports (register.d.ts)

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * A project whose node_modules holds the package's typings as an install would lay them out.
 * Its tsconfig extends the seeds' own (strict, lib es2020, the exclusion list of the examples
 * that are wrong as TypeScript) but drops the seeds' shims and `paths`: only register.d.ts may
 * supply the OpenHarmony module names.
 */
function typesProject(name, compilerOptions, { typesEntry = true } = {}) {
  const dir = join(TMP, name);
  const pkgDir = join(dir, 'node_modules', 'ohos-net-websocket');
  mkdirSync(pkgDir, { recursive: true });
  for (const f of ['package.json', 'index.d.ts', 'register.d.ts']) copyFileSync(join(ROOT, f), join(pkgDir, f));
  const config = {
    extends: join(SEEDS, 'tsconfig.json'),
    compilerOptions: { paths: {}, types: typesEntry ? ['ohos-net-websocket/register'] : [], ...compilerOptions },
    include: [join(SEEDS, '*.ts'), join(SEEDS, 'shims', 'console.d.ts')],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return dir;
}

const tsc = (dir) => run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, timeout: 120_000 });

describe('the seed examples type-check with their original imports', { concurrency: 2 }, () => {
  for (const [module, moduleResolution] of [['esnext', 'bundler'], ['commonjs', 'node10'], ['nodenext', 'nodenext']]) {
    test(`tsc --strict, "types": ["ohos-net-websocket/register"], module ${module}`, async () => {
      const r = await tsc(typesProject(`types-${module}`, { module, moduleResolution }));
      assert.equal(r.code, 0, transcript(r));
    });
  }

  test('the check can fail: without the types entry the OpenHarmony names are unknown (TS2307)', async () => {
    const r = await tsc(typesProject('types-none', { module: 'esnext', moduleResolution: 'bundler' }, { typesEntry: false }));
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /error TS2307: Cannot find module '@kit\.NetworkKit'/);
    assert.match(r.stdout, /error TS2307: Cannot find module '@ohos\.net\.webSocket'/);
  });
});
