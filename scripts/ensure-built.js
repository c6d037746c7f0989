'use strict';
// Builds the addon when the native loader or binary is missing (first `npm start`
// on a fresh clone); otherwise does nothing, so `npm start` stays instant.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const hasBinary = fs.readdirSync(root).some((f) => f.endsWith('.node'));
if (!hasBinary || !fs.existsSync(path.join(root, 'binding.js'))) {
  console.log('[ensure-built] building the native addon (first run takes a few minutes)...');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
