'use strict';
// `prepack`: refuses to pack the main package when what it would publish does not hang
// together. The loader (lib/native.js) is hand-written, so nothing generated is needed; what
// can go wrong is the set of platform packages: every npm/<platform> must be named
// `<name>-<platform>`, carry the root's version, match a `napi.targets` entry, and be listed
// in optionalDependencies with exactly that version (`npm version` keeps this so through
// `napi version` and scripts/sync-versions.js).

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const problems = ['LICENSE', 'README.md', 'lib/native.js']
  .filter((f) => !fs.existsSync(path.join(ROOT, f)))
  .map((f) => `${f} is missing`);

const dirs = fs.readdirSync(path.join(ROOT, 'npm')).filter((d) => fs.existsSync(path.join(ROOT, 'npm', d, 'package.json')));
const optional = { ...root.optionalDependencies };
for (const dir of dirs) {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', dir, 'package.json'), 'utf8'));
  const expected = `${root.name}-${dir}`;
  if (manifest.name !== expected) problems.push(`npm/${dir} is named ${manifest.name}, not ${expected}`);
  if (manifest.version !== root.version) problems.push(`npm/${dir} has version ${manifest.version}, not ${root.version}`);
  if (manifest.main !== `${root.napi.binaryName}.${dir}.node`) problems.push(`npm/${dir} has main ${manifest.main}`);
  if (optional[expected] !== root.version) problems.push(`optionalDependencies lacks "${expected}": "${root.version}"`);
  delete optional[expected];
}
for (const name of Object.keys(optional)) problems.push(`optionalDependencies lists ${name}, which has no npm/ dir`);
if (dirs.length !== root.napi.targets.length) {
  problems.push(`napi.targets has ${root.napi.targets.length} targets but npm/ has ${dirs.length} package dirs (napi create-npm-dirs)`);
}
if (problems.length) {
  console.error(`cannot pack ${root.name}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
