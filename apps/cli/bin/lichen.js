#!/usr/bin/env node
'use strict';
// The `lichen` command: a shim that loads the compiled CLI (apps/cli/dist/main.js).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(
    'lichen: the CLI is not built (' +
      entry +
      ' is missing).\n' +
      'Run `npm run build` in the repository root (after `npm ci`), then try again.\n',
  );
  process.exit(125);
}
require(entry);
