// Gate: every rule the code, tests and docs cite (R59, (S18), R43/R44, R65–R68, A.6,
// "table (d)") must be defined in doc/spec.md, so a citation resolves from a clone; and the
// relative links of the repository's documents must reach an existing file and heading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, dirname, relative, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SPEC = join(ROOT, 'doc', 'spec.md');

// Directories holding data or third-party text, not citations: the OpenHarmony seed documents
// and PEM fixtures (base64 can put "R2" between word boundaries).
const SKIP_DIRS = new Set(['node_modules', 'target', 'seeds', 'testdata']);
const TEXT_EXTS = new Set(['.rs', '.js', '.mjs', '.cjs', '.ts', '.md']);

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(path, out);
    } else if (TEXT_EXTS.has(extname(name))) {
      out.push(path);
    }
  }
  return out;
}

function citingFiles() {
  const files = [...walk(join(ROOT, 'src')), ...walk(join(ROOT, 'lib')), ...walk(join(ROOT, '__test__'))];
  for (const f of ['index.d.ts', 'register.d.ts', 'README.md', 'CONTRIBUTING.md', 'bench/README.md']) {
    if (existsSync(join(ROOT, f))) files.push(join(ROOT, f));
  }
  for (const f of readdirSync(join(ROOT, 'doc'))) if (f.endsWith('.md')) files.push(join(ROOT, 'doc', f));
  return files;
}

// Uppercase R or S, digits, an optional lowercase suffix (R21a), standing alone as a word:
// "s1" bench names, hex and identifiers such as FOO_S3 or SHA256 do not match.
const RULE = /(?<![\w.])([RS])(\d+)([a-z]?)(?!\w)/g;
// A range cites its ends and everything between: R65–R68, R13-R15, S10–15.
const RANGE = /(?<![\w.])([RS])(\d+)\s*[–-]\s*(?:\1)?(\d+)(?!\w)/g;
const SECTION = /(?<![\w.])A\.(\d)(?!\w)/g;
const LETTERED = /\b(?:section|table)s? \(([a-f])\)/g;

/** Every citation as { id, where }, `id` being the anchor doc/spec.md must define. */
function collectCitations() {
  const cites = [];
  for (const file of citingFiles()) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `${relative(ROOT, file)}:${i + 1}`;
      for (const m of line.matchAll(RULE)) cites.push({ id: `${m[1]}${m[2]}${m[3]}`, where });
      for (const m of line.matchAll(RANGE)) {
        const [from, to] = [Number(m[2]), Number(m[3])];
        if (to > from && to - from < 30) {
          for (let n = from + 1; n < to; n++) cites.push({ id: `${m[1]}${n}`, where });
        }
      }
      for (const m of line.matchAll(SECTION)) cites.push({ id: `a${m[1]}`, where });
      for (const m of line.matchAll(LETTERED)) cites.push({ id: m[1], where });
    });
  }
  return cites;
}

/** Anchor ids defined in a Markdown file: explicit `<a id>` plus GitHub's heading slugs. */
function anchorsOf(file) {
  const text = readFileSync(file, 'utf8');
  const ids = [...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]);
  const seen = new Map();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const base = h[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.push(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

test('doc/spec.md defines every rule of the contract exactly once', () => {
  const ids = [...readFileSync(SPEC, 'utf8').matchAll(/<a id="([RS]\d+[a-z]?)"><\/a>/g)].map((m) => m[1]);
  const expected = [
    ...Array.from({ length: 73 }, (_, i) => `R${i + 1}`), 'R21a',
    ...Array.from({ length: 23 }, (_, i) => `S${i + 1}`),
  ];
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dupes, [], `defined more than once: ${dupes.join(', ')}`);
  assert.deepEqual([...ids].sort(), [...expected].sort());
});

test('every rule cited in src/, lib/, __test__/, the typings and the documents is defined in doc/spec.md', () => {
  const defined = new Set(anchorsOf(SPEC));
  const cites = collectCitations();
  // A scan that finds (almost) nothing means the patterns or the paths broke, not that all is well.
  assert.ok(cites.length > 500, `only ${cites.length} citations found`);
  const missing = cites.filter((c) => !defined.has(c.id)).map((c) => `${c.id} at ${c.where}`);
  assert.deepEqual(missing, [], `cited but not defined in doc/spec.md:\n${missing.join('\n')}`);
});

test('relative links of the repository documents reach a file and a heading', () => {
  const docs = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'bench/README.md']
    .map((f) => join(ROOT, f))
    .concat(readdirSync(join(ROOT, 'doc')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'doc', f)))
    .filter((f) => existsSync(f));
  assert.ok(docs.length >= 4, `documents found: ${docs.map((f) => relative(ROOT, f)).join(', ')}`);
  const broken = [];
  for (const doc of docs) {
    let fenced = false;
    const lines = readFileSync(doc, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.startsWith('```')) fenced = !fenced;
      if (fenced) return;
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue;
        const [path, anchor] = target.split('#');
        const file = path === '' ? doc : join(dirname(doc), path);
        const where = `${relative(ROOT, doc)}:${i + 1} → ${target}`;
        if (!existsSync(file)) broken.push(`${where} (no such file)`);
        else if (anchor && file.endsWith('.md') && !anchorsOf(file).includes(anchor)) broken.push(`${where} (no such heading)`);
      }
    });
  }
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});
