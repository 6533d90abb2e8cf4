/**
 * The chart against the service code: every variable the chart sets is one the code reads,
 * every probe path and metric an alert uses is served by the code, and KEDA watches the list
 * BullMQ really uses. These fail when the chart and the code drift apart.
 */
import { QueueKeys } from 'bullmq';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleFiles, find, one, readYaml, REPO, render, type K8sObject, type Obj } from './support/chart';
import { mentions, serviceSources, sources } from './support/source';

const serviceCode = serviceSources();
const apiCode = sources('apps/api/src');
const runnerCode = sources('apps/runner/src');

const stringLiteral = (code: { text: string }[], s: string): boolean =>
  code.some((f) => f.text.includes(`'${s}'`) || f.text.includes(`"${s}"`) || f.text.includes(`\`${s}\``));

const EVERYTHING: Obj = {
  api: { ingress: { enabled: true } },
  metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
  s3: { endpoint: 'http://minio:9000', prefix: 'p/', accessKeyId: 'k', secretAccessKey: 's' },
  auth: { adminKey: 'admin-key-0123456789', apiKeys: [{ tenant: 'a', key: 'aaaaaaaaaaaaaaaa' }] },
  limits: {
    default: { cpuSteps: 1, memoryBytes: 1, wallMs: 1, outputBytes: 1, processes: 1, openFiles: 3, fileSizeBytes: 1 },
    max: { cpuSteps: 1, memoryBytes: 1, wallMs: 1, outputBytes: 1, processes: 1, openFiles: 3, fileSizeBytes: 1 },
  },
};
const renders: K8sObject[][] = [
  render([EVERYTHING]).objects,
  render([{ auth: { existingSecret: 'x' } }]).objects,
  ...exampleFiles().map((f) => render([readYaml(f) as Obj]).objects),
];

type Container = {
  env?: { name: string }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
};
const containersOf = (objs: K8sObject[], suffix: string): Container[] =>
  find(objs, 'Deployment', suffix).flatMap(
    (d) => (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers,
  );

/** Every environment variable name the chart can set, with where it comes from. */
function chartEnvNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const objs of renders) {
    for (const k of Object.keys(one(objs, 'ConfigMap').data ?? {})) names.set(k, 'ConfigMap');
    for (const suffix of ['-api', '-runner']) {
      for (const c of containersOf(objs, suffix)) for (const e of c.env ?? []) names.set(e.name, `Deployment${suffix}`);
    }
  }
  return names;
}

describe('the chart speaks the service configuration', () => {
  it('found the service code and the rendered variables to compare', () => {
    expect(serviceCode.length).toBeGreaterThan(5);
    expect(chartEnvNames().size).toBeGreaterThan(20);
  });

  it('every environment variable the chart sets is read by apps/ or libs/', () => {
    const unread = [...chartEnvNames()].filter(([n]) => !mentions(serviceCode, n)).map(([n, w]) => `${n} (${w})`);
    expect(unread).toEqual([]);
  });

  it('every environment variable the chart sets is documented in docs/configuration.md', () => {
    const doc = readFileSync(join(REPO, 'docs/configuration.md'), 'utf8');
    const undocumented = [...chartEnvNames().keys()].filter((n) => !doc.includes(n));
    expect(undocumented).toEqual([]);
  });

  it('every config.env name in the examples is read by the service', () => {
    for (const f of exampleFiles()) {
      const env = ((readYaml(f) as { config?: { env?: Obj } }).config?.env ?? {}) as Obj;
      for (const n of Object.keys(env)) expect(mentions(serviceCode, n), `${f}: ${n}`).toBe(true);
    }
  });

  it('the variables the service needs on Kubernetes are all set', () => {
    const names = chartEnvNames();
    for (const n of [
      'REDIS_URL',
      'LICHEN_REDIS_PREFIX',
      'LICHEN_QUEUE_NAME',
      'LICHEN_S3_BUCKET',
      'LICHEN_S3_REGION',
      'LICHEN_API_PORT',
      'LICHEN_RUNNER_METRICS_PORT',
      'LICHEN_RUNNER_CONCURRENCY',
      'LICHEN_SHUTDOWN_GRACE_MS',
      'LICHEN_MAX_WALL_MS',
      'LICHEN_IMAGE_CACHE_DIR',
      'LICHEN_IMAGE_CACHE_BYTES',
      'LICHEN_ADMIN_KEY',
      'LICHEN_API_KEYS',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });
});

describe('probes and metrics exist in the service', () => {
  const routeServed = (code: { text: string }[], path: string): boolean =>
    stringLiteral(code, path) || stringLiteral(code, path.replace(/^\//, ''));

  it('the API serves the paths its probes and ServiceMonitor use', () => {
    const objs = render([EVERYTHING]).objects;
    const c = containersOf(objs, '-api')[0];
    const paths = [c.livenessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.path, '/metrics'];
    for (const p of paths) expect(routeServed(apiCode, p!), `apps/api/src serves ${p}`).toBe(true);
  });

  it('the runner serves the paths its probes and ServiceMonitor use', () => {
    const objs = render([EVERYTHING]).objects;
    const c = containersOf(objs, '-runner')[0];
    const paths = [c.livenessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.path, '/metrics'].filter(Boolean);
    expect(paths.length).toBeGreaterThanOrEqual(2);
    for (const p of paths) expect(routeServed(runnerCode, p!), `apps/runner/src serves ${p}`).toBe(true);
  });

  it('every lichen_* metric and label value the alerts use is defined by the service', () => {
    const rule = one(render([EVERYTHING]).objects, 'PrometheusRule');
    const exprs = (rule.spec as { groups: { rules: { expr: string }[] }[] }).groups.flatMap((g) =>
      g.rules.map((r) => r.expr),
    );
    const metrics = new Set<string>();
    const labelValues = new Set<string>();
    for (const e of exprs) {
      for (const m of e.matchAll(/\b(lichen_[a-z0-9_]+)\{([^}]*)\}/g)) {
        metrics.add(m[1].replace(/_(bucket|count|sum)$/, ''));
        for (const l of m[2].matchAll(/([a-z_]+)=~?"([^"]*)"/g)) {
          if (l[1] !== 'namespace' && l[1] !== 'job') labelValues.add(l[2]);
        }
      }
    }
    expect(metrics.size).toBeGreaterThanOrEqual(4);
    for (const m of metrics) expect(stringLiteral(serviceCode, m), `metric ${m}`).toBe(true);
    expect([...labelValues].sort()).toEqual(['internal_error', 'waiting']);
    for (const v of labelValues) expect(stringLiteral(serviceCode, v), `label value ${v}`).toBe(true);
  });
});

describe('KEDA watches the queue BullMQ fills', () => {
  it('the service puts its BullMQ queues under "<LICHEN_REDIS_PREFIX>:bull"', () => {
    const keys = readFileSync(join(REPO, 'apps/runner/src/core/keys.ts'), 'utf8');
    expect(keys).toMatch(/bullPrefix\(\): string \{\s*return `\$\{this\.prefix\}:bull`;/);
    expect(
      runnerCode.some((f) => /new Queue\(\s*cfg\.queueName[\s\S]{0,200}prefix: keys\.bullPrefix\(\)/.test(f.text)),
    ).toBe(true);
  });

  it('the ScaledObject lists are BullMQ’s waiting and active lists for that prefix and queue', () => {
    for (const [prefix, queue] of [
      ['lichen', 'runs'],
      ['prod-a', 'q_1'],
    ]) {
      const objs = render([
        { runner: { autoscaling: { enabled: false }, keda: { enabled: true } } },
        { redis: { keyPrefix: prefix }, queue: { name: queue } },
      ]).objects;
      const so = one(objs, 'ScaledObject').spec as { triggers: { metadata: { listName: string } }[] };
      const keys = new QueueKeys(`${prefix}:bull`).getKeys(queue);
      expect(so.triggers.map((t) => t.metadata.listName)).toEqual([keys.wait, keys.active]);
      const cm = one(objs, 'ConfigMap').data!;
      expect(cm.LICHEN_REDIS_PREFIX).toBe(prefix);
      expect(cm.LICHEN_QUEUE_NAME).toBe(queue);
    }
  });
});
