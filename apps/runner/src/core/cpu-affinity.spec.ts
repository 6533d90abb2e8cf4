import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';
import { allowedCpus, pinProcess } from './cpu-affinity';

describe('runner CPU pinning', () => {
  it('pins every thread of a process to the listed CPU', async () => {
    // A node child has several threads already (V8 platform, libuv): all must move.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pid = child.pid as number;
      pinProcess('0', pid);
      expect(allowedCpus(pid)).toBe('0');
      const { readdirSync, readFileSync } = await import('node:fs');
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        expect(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')).toMatch(/^Cpus_allowed_list:\s*0$/m);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('fails with a message naming the setting when the CPUs do not exist', () => {
    expect(() => pinProcess('4000', process.pid)).toThrow(
      /^LICHEN_RUNNER_CPUS=4000: cannot pin the runner to those CPUs: /,
    );
  });

  it('accepts CPU lists and rejects anything else at start-up', () => {
    expect(loadConfig({}).runner.cpus).toBeNull();
    expect(loadConfig({ LICHEN_RUNNER_CPUS: '0' }).runner.cpus).toBe('0');
    expect(loadConfig({ LICHEN_RUNNER_CPUS: ' 0-3,6 ' }).runner.cpus).toBe('0-3,6');
    for (const bad of ['all', '0;rm -rf /', '1-', '-1', '0,,1']) {
      expect(() => loadConfig({ LICHEN_RUNNER_CPUS: bad })).toThrow(ConfigError);
    }
  });
});
