/**
 * The service entry points lower V8's interrupt budget (apps/runner/src/core/v8-flags.ts)
 * before Nest builds an application, and the API and runner entry points before Nest is even
 * loaded. Each entry point runs in its own process with a preload that records every
 * v8.setFlagsFromString call and, at the first Nest application it is asked to create, prints
 * what was set by then and exits (so no service actually starts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, testEnv } from './support/harness';

const ROOT = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'lichen-v8-entry-'));
const PRELOAD = join(work, 'record-v8-flags.cjs');
writeFileSync(
  PRELOAD,
  `'use strict';
const v8 = require('node:v8');
const Module = require('node:module');
const flags = [];
const set = v8.setFlagsFromString;
v8.setFlagsFromString = (f) => { flags.push(f); return set(f); };
let atNestLoad = null;
const load = Module._load;
Module._load = function (request) {
  const exp = load.apply(this, arguments);
  if (request === '@nestjs/core' && atNestLoad === null) {
    atNestLoad = [...flags];
    for (const m of ['create', 'createApplicationContext']) {
      const orig = exp.NestFactory[m];
      exp.NestFactory[m] = function () {
        process.stdout.write('\\nV8-FLAGS ' + JSON.stringify({ atNestLoad, atCreate: [...flags] }) + '\\n');
        process.exit(0);
        return orig.apply(this, arguments);
      };
    }
  }
  return exp;
};
`,
);

interface Seen {
  atNestLoad: string[];
  atCreate: string[];
}

function flagsOf(entry: string, args: string[], extra: Record<string, string>): Seen {
  const { env, prefix, dir } = testEnv(extra);
  try {
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '--require', PRELOAD, join(ROOT, entry), ...args], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('V8-FLAGS '));
    if (!line) throw new Error(`${entry} never created a Nest application (status ${r.status}): ${r.stderr}`);
    return JSON.parse(line.slice('V8-FLAGS '.length)) as Seen;
  } finally {
    void dropPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('service entry points set the V8 interrupt budget first', () => {
  for (const entry of ['apps/api/src/main.ts', 'apps/runner/src/main.ts']) {
    it(`${entry}: the default budget is set before Nest loads`, () => {
      const seen = flagsOf(entry, [], {});
      expect(seen.atNestLoad).toEqual(['--interrupt-budget=16384']);
      expect(seen.atCreate).toEqual(['--interrupt-budget=16384']);
    });
  }

  it('apps/runner/src/main.ts: LICHEN_V8_INTERRUPT_BUDGET sets another budget, 0 keeps V8’s', () => {
    expect(flagsOf('apps/runner/src/main.ts', [], { LICHEN_V8_INTERRUPT_BUDGET: '65536' }).atNestLoad).toEqual([
      '--interrupt-budget=65536',
    ]);
    expect(flagsOf('apps/runner/src/main.ts', [], { LICHEN_V8_INTERRUPT_BUDGET: '0' }).atCreate).toEqual([]);
  });

  it('lichen serve: the budget is set before the first Nest application is created', () => {
    // (The CLI sets it when it starts, and startServe again for embedders: both the same.)
    const seen = flagsOf('apps/cli/src/main.ts', ['serve', '--port', '0'], {});
    expect(seen.atCreate.length).toBeGreaterThan(0);
    expect(new Set(seen.atCreate)).toEqual(new Set(['--interrupt-budget=16384']));
  });
});
