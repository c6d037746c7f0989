// The seed examples (__test__/seeds/*.ts) as ES modules for child processes: type stripping
// with the TypeScript compiler, the OpenHarmony import lines kept or pointed at a module,
// and the local "bye" server plus the console lines the canonical examples print against it.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startEchoServer } from './servers.mjs';

export const SEEDS = join(dirname(fileURLToPath(import.meta.url)), '..', 'seeds');

/** Every extracted example, sorted (85 files). */
export function seedFiles() {
  return readdirSync(SEEDS)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort();
}

/**
 * Type-strips one example into an ES module. `verbatim` keeps every import line as written
 * (what Node's own type stripping does), otherwise imports used only as types disappear (what
 * tsc does). `url` replaces the docs' "ws://" placeholder. Throws SyntaxError on TS errors.
 */
export function stripTypes(file, { verbatim = false, url } = {}) {
  let src = readFileSync(join(SEEDS, file), 'utf8');
  if (url !== undefined) {
    assert.ok(src.includes('"ws://"'), `${file} has no "ws://" placeholder`);
    src = src.replaceAll('"ws://"', JSON.stringify(url));
  }
  const compilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2020,
    verbatimModuleSyntax: verbatim,
  };
  const out = ts.transpileModule(src, { fileName: file, reportDiagnostics: true, compilerOptions });
  if (out.diagnostics.length) {
    const text = out.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ');
    throw new SyntaxError(`${file}: ${text}`);
  }
  return out.outputText;
}

const NETWORK = /(from\s+)(['"])(?:@kit\.NetworkKit|@ohos\.net\.webSocket)\2/g;
const BASE_IMPORT = /^import\s[^;]*from\s+(['"])(?:@kit\.BasicServicesKit|@ohos\.base)\1;?[^\n]*$/gm;

/** Points the webSocket imports at `specifier` and drops imports from the two base modules. */
export function pointImportsAt(js, specifier) {
  const out = js.replace(NETWORK, `$1${JSON.stringify(specifier)}`).replace(BASE_IMPORT, '');
  assert.doesNotMatch(out, /from\s+['"]@/, 'an OpenHarmony import was left unmapped');
  return out;
}

/** Echo server that follows the echo of "Hello, server!" with "bye" (the examples then close). */
export async function startByeServer() {
  const server = await startEchoServer();
  server.wss.on('connection', (sock) =>
    sock.on('message', (data, isBinary) => !isBinary && `${data}` === 'Hello, server!' && sock.send('bye')),
  );
  return server;
}

/**
 * What the canonical examples print against the bye server: `ordered` in this order, and
 * `unordered` somewhere (a send callback races with the echo it causes).
 */
export const BYE_RUNS = {
  '000-02-full-example.ts': {
    ordered: ['connect success', 'on message, message:Hello, server!', 'on message, message:bye', 'close success',
      'on close, code is 1000, reason is CLOSE_NORMAL'],
    unordered: ['send success'],
  },
  '004-01-guide-example.ts': {
    ordered: ['Connected successfully', 'on open, status:{"status":101,"message":"Switching Protocols"}',
      'on message, message:Hello, server!', 'on message, message:bye', 'Connection closed successfully',
      'on close, code is 1000, reason is CLOSE_NORMAL'],
    unordered: ['Message send successfully'],
  },
};

/** Asserts that `stdout` is exactly the lines of `expected` (a BYE_RUNS entry), in order. */
export function assertByeRun(stdout, expected, context = '') {
  const lines = stdout.split('\n').filter(Boolean);
  assert.deepEqual([...lines].sort(), [...expected.ordered, ...expected.unordered].sort(), `output of the example\n${context}`);
  assert.deepEqual(lines.filter((l) => expected.ordered.includes(l)), expected.ordered, `order of the output\n${context}`);
}
