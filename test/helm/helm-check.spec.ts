/**
 * scripts/helm-check.sh: runs helm lint / helm template | kubeconform -strict when the tools are
 * on PATH and says SKIPPED when they are not. The real tools are not installable here, so the
 * branches are exercised with stand-ins that record how they were called; when a real `helm`
 * or `kubeconform` is on PATH, the last test runs the script against it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleFiles, REPO } from './support/chart';

const SCRIPT = join(REPO, 'scripts/helm-check.sh');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A PATH with only the basic tools plus the given stand-ins (shell scripts). */
function fakePath(tools: Record<string, string>): { path: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lichen-helm-check-'));
  dirs.push(dir);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  for (const [name, body] of Object.entries(tools)) {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(p, 0o755);
  }
  // Keep node/npx (the script renders with the test renderer when helm is absent) and coreutils.
  const nodeDir = process.execPath.replace(/\/node$/, '');
  return { path: `${dir}:${nodeDir}:/usr/bin:/bin`, log };
}

function run(path: string, extraEnv: Record<string, string> = {}) {
  const r = spawnSync('bash', [SCRIPT], {
    cwd: REPO,
    env: { HOME: process.env.HOME ?? '/tmp', PATH: path, ...extraEnv },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const valueSets = exampleFiles().length + 1;

describe('scripts/helm-check.sh', () => {
  it('says SKIPPED for each missing tool and succeeds', () => {
    const { path } = fakePath({});
    const r = run(path);
    expect(r.out).toContain('SKIPPED helm lint: helm is not on PATH');
    expect(r.out).toContain('SKIPPED kubeconform: kubeconform is not on PATH');
    expect(r.out).toContain('helm-check: OK (2 skipped)');
    expect(r.code).toBe(0);
  });

  it('fails on missing tools when HELM_CHECK_REQUIRE=1', () => {
    const { path } = fakePath({});
    const r = run(path, { HELM_CHECK_REQUIRE: '1' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('helm-check: FAILED');
  });

  it('runs helm lint --strict and helm template | kubeconform -strict for the defaults and every example', () => {
    const { path, log } = fakePath({
      helm: 'case "$1" in version) echo v3.fake ;; template) echo "apiVersion: v1"; echo "kind: ConfigMap" ;; esac; exit 0',
      kubeconform: 'cat > /dev/null; exit 0',
    });
    const r = run(path);
    expect(r.code, r.out).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const lints = calls.filter((c) => c.startsWith('helm lint --strict'));
    const templates = calls.filter((c) => c.startsWith('helm template lichen'));
    const kc = calls.filter((c) => c.startsWith('kubeconform'));
    expect(lints).toHaveLength(valueSets);
    expect(templates).toHaveLength(valueSets);
    expect(kc).toHaveLength(valueSets);
    expect(kc[0]).toContain('-strict');
    expect(templates[0]).toContain('--kube-version 1.29.0');
    expect(kc[0]).toContain('-kubernetes-version 1.29.0');
    for (const f of exampleFiles()) expect(lints.some((c) => c.endsWith(`-f ${f}`))).toBe(true);
    expect(r.out).toContain('helm-check: OK (0 skipped)');
  });

  it('fails when helm lint or kubeconform fails', () => {
    const lintFails = fakePath({ helm: 'case "$1" in lint) exit 1 ;; esac; exit 0' });
    const r1 = run(lintFails.path);
    expect(r1.code).toBe(1);
    expect(r1.out).toContain('FAIL helm lint --strict (values.yaml)');
    const kcFails = fakePath({ helm: 'exit 0', kubeconform: 'cat > /dev/null; exit 1' });
    const r2 = run(kcFails.path);
    expect(r2.code).toBe(1);
    expect(r2.out).toContain('FAIL kubeconform -strict on helm template');
  });

  it('without helm, feeds kubeconform the manifests of the test renderer', () => {
    const { path } = fakePath({
      // Accepts only input that carries both Deployments; records the kinds it saw.
      kubeconform:
        'input=$(cat); echo "$input" | grep -q "name: lichen-runner" && echo "$input" | grep -q "kind: Deployment"',
    });
    const r = run(path);
    expect(r.out).toContain('SKIPPED helm lint');
    expect(r.out).toContain('PASS kubeconform -strict on test renderer (helm not on PATH) (values.yaml)');
    for (const f of exampleFiles()) {
      expect(r.out).toContain(
        `PASS kubeconform -strict on test renderer (helm not on PATH) (examples/${f.split('/').pop()})`,
      );
    }
    expect(r.code, r.out).toBe(0);
  }, 240_000);

  it('passes with whatever real tools this machine has', () => {
    const r = run(process.env.PATH ?? '/usr/bin:/bin');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/helm-check: OK/);
  }, 240_000);
});
