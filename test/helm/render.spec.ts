import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleFiles, find, one, readYaml, render, type K8sObject, type Obj } from './support/chart';

type Container = {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Obj;
  resources?: { requests?: Obj; limits?: Obj };
  livenessProbe?: { httpGet?: { path: string; port: string }; tcpSocket?: { port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string }; tcpSocket?: { port: string } };
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = {
  containers: Container[];
  volumes?: { name: string; emptyDir?: { sizeLimit?: string; medium?: string } }[];
  securityContext?: Obj;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
};
type Deployment = K8sObject & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
  };
};

const KEDA: Obj = { runner: { autoscaling: { enabled: false }, keda: { enabled: true } } };
const EVERYTHING: Obj = {
  api: {
    ingress: { enabled: true, tls: [{ secretName: 't', hosts: ['lichen.example.com'] }] },
    autoscaling: { enabled: true },
  },
  metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
  networkPolicy: {
    enabled: true,
    metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
  },
  s3: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret-example' },
  auth: { adminKey: 'admin-key-0123456789', apiKeys: [{ tenant: 'acme', key: 'acme-key-0123456789' }] },
};

/** Value sets every structural check runs on: defaults, each example, and feature toggles. */
const scenarios: [string, Obj[]][] = [
  ['defaults', []],
  ...exampleFiles().map((f): [string, Obj[]] => [`examples/${basename(f)}`, [readYaml(f) as Obj]]),
  ['everything enabled', [EVERYTHING]],
  ['KEDA', [KEDA]],
  [
    'existing secrets',
    [
      {
        redis: { existingSecret: 'r', existingSecretKey: 'u' },
        s3: { existingSecret: 's' },
        auth: { existingSecret: 'a' },
      },
    ],
  ],
];

const deployments = (objs: K8sObject[]): Deployment[] => find(objs, 'Deployment') as Deployment[];
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const envOf = (c: Container): Map<string, string | undefined> => new Map((c.env ?? []).map((e) => [e.name, e.value]));
/** VMs a runner container runs at once: LICHEN_RUNNER_VM_THREADS, or the concurrency when it is 0 (the service's rule). */
function vmsAtOnce(env: Map<string, string | undefined>): number {
  const concurrency = Number(env.get('LICHEN_RUNNER_CONCURRENCY'));
  const threads = Number(env.get('LICHEN_RUNNER_VM_THREADS') ?? 0);
  return threads > 0 ? Math.min(threads, concurrency) : concurrency;
}

function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`unparsed quantity ${q}`);
  const mult: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (m[2] ? mult[m[2]] : 1);
}

for (const [name, overrides] of scenarios) {
  describe(`rendered chart: ${name}`, () => {
    const r = render(overrides);
    const { objects } = r;
    const text = [...r.files.values()].join('\n');

    it('renders well-formed objects with names, labels and no template leftovers', () => {
      expect(objects.length).toBeGreaterThan(5);
      for (const o of objects) {
        expect(o.apiVersion, JSON.stringify(o).slice(0, 80)).toMatch(/^[a-z0-9.]+(\/v[0-9a-z]+)?$|^v1$/);
        expect(o.kind).toMatch(/^[A-Z][A-Za-z]+$/);
        expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        expect(o.metadata.name.length).toBeLessThanOrEqual(63);
        expect(o.metadata.labels?.['app.kubernetes.io/instance']).toBe('demo');
      }
      expect(text).not.toContain('<no value>');
      expect(text).not.toContain('<nil>');
      expect(text).not.toMatch(/\d\.?\d*e\+\d\d/); // a float printed Go-style (1e+06)
      const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('selectors of Deployments, Services and PodDisruptionBudgets match the pods they mean', () => {
      const deps = deployments(objects);
      expect(deps.map((d) => d.metadata.name).sort()).toEqual(['demo-lichen-api', 'demo-lichen-runner']);
      for (const d of deps) expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      for (const s of [...find(objects, 'Service'), ...find(objects, 'PodDisruptionBudget')]) {
        const spec = s.spec as { selector: Record<string, string> | { matchLabels: Record<string, string> } };
        const sel =
          'matchLabels' in spec.selector ? (spec.selector.matchLabels as Record<string, string>) : spec.selector;
        const hits = deps.filter((d) => matches(sel, d.spec.template.metadata.labels));
        expect(
          hits.map((d) => d.metadata.name),
          `${s.kind}/${s.metadata.name}`,
        ).toEqual([s.metadata.name]);
      }
      for (const svc of find(objects, 'Service')) {
        const dep = deps.find((d) => d.metadata.name === svc.metadata.name)!;
        const portNames = dep.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
        for (const p of (svc.spec as { ports: { targetPort: string }[] }).ports)
          expect(portNames).toContain(p.targetPort);
      }
    });

    it('autoscalers target the right Deployment and own its replica count', () => {
      const deps = deployments(objects);
      for (const scaler of [...find(objects, 'HorizontalPodAutoscaler'), ...find(objects, 'ScaledObject')]) {
        const ref = (scaler.spec as { scaleTargetRef: { kind?: string; name: string } }).scaleTargetRef;
        const target = deps.find((d) => d.metadata.name === ref.name);
        expect(target, `${scaler.kind} target ${ref.name}`).toBeDefined();
        expect(target!.spec.replicas, `${ref.name} must leave replicas to ${scaler.kind}`).toBeUndefined();
      }
      for (const d of deps) {
        const scaled = [...find(objects, 'HorizontalPodAutoscaler'), ...find(objects, 'ScaledObject')].some(
          (s) => (s.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === d.metadata.name,
        );
        if (!scaled) expect(d.spec.replicas, d.metadata.name).toBeGreaterThanOrEqual(1);
      }
      expect(
        find(objects, 'HorizontalPodAutoscaler', '-runner').length + find(objects, 'ScaledObject').length,
      ).toBeLessThanOrEqual(1);
    });

    it('pods run hardened: non-root, read-only root, no capabilities, RuntimeDefault seccomp, no API token', () => {
      for (const d of deployments(objects)) {
        const pod = d.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.enableServiceLinks).toBe(false);
        for (const c of pod.containers) {
          expect(c.securityContext).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
        }
      }
    });

    it('every writable path the service uses is an emptyDir mount; the cache fits its volume', () => {
      const cm = one(objects, 'ConfigMap');
      for (const d of deployments(objects)) {
        const pod = d.spec.template.spec;
        const c = pod.containers[0];
        const mounts = c.volumeMounts ?? [];
        const emptyDirs = new Map((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => [v.name, v.emptyDir!]));
        const mountedAt = (path: string): { name: string; mountPath: string } | undefined =>
          mounts.find((m) => emptyDirs.has(m.name) && (path === m.mountPath || path.startsWith(`${m.mountPath}/`)));
        expect(mountedAt('/tmp'), `${d.metadata.name} /tmp`).toBeDefined();
        for (const key of ['LICHEN_IMAGE_CACHE_DIR', 'LICHEN_IMAGE_DIR', 'LICHEN_ARTIFACT_DIR']) {
          expect(mountedAt(cm.data![key]), `${d.metadata.name} ${key}=${cm.data![key]}`).toBeDefined();
        }
        for (const v of emptyDirs.values()) expect(v.sizeLimit).toBeDefined();
        const cacheVolume = emptyDirs.get(mountedAt(cm.data!.LICHEN_IMAGE_CACHE_DIR)!.name)!;
        expect(quantityBytes(cacheVolume.sizeLimit!)).toBeGreaterThan(Number(cm.data!.LICHEN_IMAGE_CACHE_BYTES));
      }
    });

    it('containers have requests and limits, probes on declared ports, and the process picked by args', () => {
      for (const d of deployments(objects)) {
        const c = d.spec.template.spec.containers[0];
        const component = d.metadata.labels!['app.kubernetes.io/component'];
        expect(c.args).toEqual([component]);
        expect(c.resources?.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(c.resources?.limits).toMatchObject({ memory: expect.anything() });
        const ports = (c.ports ?? []).map((p) => p.name);
        for (const probe of [c.livenessProbe!, c.readinessProbe!]) {
          expect(ports).toContain((probe.httpGet ?? probe.tcpSocket)!.port);
        }
      }
    });

    it('the runner outlives its longest allowed run when it is stopped', () => {
      const runner = one(objects, 'Deployment', '-runner') as Deployment;
      const cm = one(objects, 'ConfigMap');
      const env = envOf(runner.spec.template.spec.containers[0]);
      const maxWallMs = Number(cm.data!.LICHEN_MAX_WALL_MS);
      const drainMs = Number(env.get('LICHEN_SHUTDOWN_GRACE_MS'));
      const grace = runner.spec.template.spec.terminationGracePeriodSeconds!;
      expect(maxWallMs).toBeGreaterThan(0);
      expect(drainMs).toBeGreaterThanOrEqual(maxWallMs);
      expect(grace * 1000).toBeGreaterThan(drainMs);
      expect(grace * 1000).toBeGreaterThan(maxWallMs);
    });

    it('runner pods have memory for the VMs they run at once at the maximum guest memory', () => {
      const runner = one(objects, 'Deployment', '-runner') as Deployment;
      const c = runner.spec.template.spec.containers[0];
      const env = envOf(c);
      const cm = one(objects, 'ConfigMap');
      const vms = vmsAtOnce(env);
      const heap = Number(env.get('LICHEN_VM_HEAP_MB')) * 2 ** 20;
      // The service's built-in maximum guest memory is 2 GiB (docs/configuration.md).
      const guest = Number(cm.data!.LICHEN_MAX_MEMORY_BYTES ?? 2 * 2 ** 30);
      const need = vms * (heap + guest) + 256 * 2 ** 20;
      expect(quantityBytes(String(c.resources!.limits!.memory))).toBeGreaterThanOrEqual(need);
      expect(vms).toBeGreaterThanOrEqual(1);
    });

    it('runs at most one VM per requested CPU core in a runner pod', () => {
      const runner = one(objects, 'Deployment', '-runner') as Deployment;
      const c = runner.spec.template.spec.containers[0];
      const cpu = String(c.resources!.requests!.cpu);
      const cores = cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
      expect(vmsAtOnce(envOf(c))).toBeLessThanOrEqual(Math.ceil(cores));
    });

    it('every secret reference resolves to a key the chart or the operator provides', () => {
      const chartSecret = find(objects, 'Secret')[0];
      const cmName = one(objects, 'ConfigMap').metadata.name;
      for (const d of deployments(objects)) {
        const c = d.spec.template.spec.containers[0];
        expect(c.envFrom?.[0]?.configMapRef?.name).toBe(cmName);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          if (chartSecret && ref.name === chartSecret.metadata.name) {
            expect(Object.keys(chartSecret.data ?? {}), `${e.name} -> ${ref.key}`).toContain(ref.key);
          } else {
            expect(['r', 's', 'a', 'lichen-redis', 'lichen-api-keys'], `${e.name} -> ${ref.name}`).toContain(ref.name);
          }
        }
      }
    });
  });
}

describe('chart behaviour', () => {
  it('the Secret carries the configured credentials, base64-encoded, in the format the service parses', () => {
    const { objects } = render([EVERYTHING]);
    const data = one(objects, 'Secret').data!;
    const dec = (k: string): string => Buffer.from(data[k], 'base64').toString('utf8');
    expect(dec('redis-url')).toBe('redis://redis-master:6379');
    expect(dec('s3-access-key-id')).toBe('AKIAEXAMPLE');
    expect(dec('s3-secret-access-key')).toBe('secret-example');
    expect(dec('admin-key')).toBe('admin-key-0123456789');
    expect(dec('api-keys')).toBe('acme=acme-key-0123456789');
    const api = one(objects, 'Deployment', '-api') as Deployment;
    const names = (api.spec.template.spec.containers[0].env ?? []).map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'REDIS_URL',
        'LICHEN_S3_ACCESS_KEY_ID',
        'LICHEN_S3_SECRET_ACCESS_KEY',
        'LICHEN_ADMIN_KEY',
        'LICHEN_API_KEYS',
      ]),
    );
  });

  it('several tenants are joined as tenant=key,tenant=key', () => {
    const { objects } = render([
      {
        auth: {
          apiKeys: [
            { tenant: 'a', key: 'aaaaaaaaaaaaaaaa' },
            { tenant: 'b', key: 'bbbbbbbbbbbbbbbb' },
          ],
        },
      },
    ]);
    const v = Buffer.from(one(objects, 'Secret').data!['api-keys'], 'base64').toString();
    expect(v).toBe('a=aaaaaaaaaaaaaaaa,b=bbbbbbbbbbbbbbbb');
  });

  it('without static S3 keys no S3 credential variables are set (default AWS credential chain)', () => {
    const { objects } = render();
    const secret = one(objects, 'Secret');
    expect(Object.keys(secret.data!)).toEqual(['redis-url']);
    const runner = one(objects, 'Deployment', '-runner') as Deployment;
    const names = (runner.spec.template.spec.containers[0].env ?? []).map((e) => e.name);
    expect(names).not.toContain('LICHEN_S3_ACCESS_KEY_ID');
    expect(names).not.toContain('LICHEN_ADMIN_KEY');
  });

  it('with existing secrets the chart creates no Secret and points at the operator’s', () => {
    const { objects } = render([
      {
        redis: { existingSecret: 'r', existingSecretKey: 'u' },
        s3: { existingSecret: 's' },
        auth: { existingSecret: 'a' },
      },
    ]);
    expect(find(objects, 'Secret')).toEqual([]);
    const env = (one(objects, 'Deployment', '-api') as Deployment).spec.template.spec.containers[0].env!;
    const ref = (n: string) => env.find((e) => e.name === n)!.valueFrom!.secretKeyRef;
    expect(ref('REDIS_URL')).toEqual({ name: 'r', key: 'u' });
    expect(ref('LICHEN_S3_ACCESS_KEY_ID')).toEqual({ name: 's', key: 'access-key-id' });
    expect(ref('LICHEN_API_KEYS')).toMatchObject({ name: 'a', key: 'api-keys', optional: true });
  });

  it('renders the same when Helm has dropped the null-valued keys', () => {
    const nulls = {
      runner: { shutdownGraceMs: null, terminationGracePeriodSeconds: null },
      limits: { default: { cpuSteps: null, memoryBytes: null }, max: { cpuSteps: null } },
    };
    expect([...render([nulls]).files]).toEqual([...render().files]);
  });

  it('limits are passed only when set, as plain integers', () => {
    const { objects } = render([
      { limits: { default: { cpuSteps: 5000000000 }, max: { cpuSteps: 100000000000, fileSizeBytes: 0 } } },
    ]);
    const data = one(objects, 'ConfigMap').data!;
    expect(data.LICHEN_DEFAULT_CPU_STEPS).toBe('5000000000');
    expect(data.LICHEN_MAX_CPU_STEPS).toBe('100000000000');
    expect(data.LICHEN_MAX_FILE_SIZE_BYTES).toBe('0');
    expect(data.LICHEN_MAX_WALL_MS).toBe('600000');
    expect(data.LICHEN_DEFAULT_MEMORY_BYTES).toBeUndefined();
  });

  it('runner VM threads and CPU pinning reach the runner container; no pinning by default', () => {
    const runnerEnv = (objects: K8sObject[]): Map<string, string | undefined> =>
      envOf((one(objects, 'Deployment', '-runner') as Deployment).spec.template.spec.containers[0]);
    const byDefault = runnerEnv(render().objects);
    expect(byDefault.get('LICHEN_RUNNER_VM_THREADS')).toBe('0');
    expect(byDefault.has('LICHEN_RUNNER_CPUS')).toBe(false);
    const set = runnerEnv(render([{ runner: { concurrency: 4, vmThreads: 2, cpus: '0-1' } }]).objects);
    expect(set.get('LICHEN_RUNNER_CONCURRENCY')).toBe('4');
    expect(set.get('LICHEN_RUNNER_VM_THREADS')).toBe('2');
    expect(set.get('LICHEN_RUNNER_CPUS')).toBe('0-1');
  });

  it('config.env entries reach the ConfigMap', () => {
    const { objects } = render([{ config: { env: { LICHEN_JOB_ATTEMPTS: '3' } } }]);
    expect(one(objects, 'ConfigMap').data!.LICHEN_JOB_ATTEMPTS).toBe('3');
  });

  it('the runner drain and grace follow limits.max.wallMs', () => {
    const { objects } = render([{ limits: { max: { wallMs: 1800000 } } }]);
    const runner = one(objects, 'Deployment', '-runner') as Deployment;
    expect(envOf(runner.spec.template.spec.containers[0]).get('LICHEN_SHUTDOWN_GRACE_MS')).toBe('1815000');
    expect(runner.spec.template.spec.terminationGracePeriodSeconds).toBe(1815 + 30);
  });

  it('refuses a termination grace period not longer than the drain', () => {
    expect(() => render([{ runner: { terminationGracePeriodSeconds: 600 } }])).toThrow(
      /terminationGracePeriodSeconds \(600\) must be longer/,
    );
    const ok = render([{ runner: { terminationGracePeriodSeconds: 700 } }]);
    expect(
      (one(ok.objects, 'Deployment', '-runner') as Deployment).spec.template.spec.terminationGracePeriodSeconds,
    ).toBe(700);
  });

  it('refuses a drain shorter than the longest allowed run', () => {
    expect(() => render([{ runner: { shutdownGraceMs: 1000 } }])).toThrow(/shutdownGraceMs \(1000\) must be at least/);
  });

  it('refuses HPA and KEDA together, and a missing bucket or Redis URL', () => {
    expect(() => render([{ runner: { keda: { enabled: true } } }])).toThrow(/mutually exclusive/);
    expect(() => render([{ s3: { bucket: '' } }])).toThrow(/s3.bucket is required/);
    expect(() => render([{ redis: { url: '' } }])).toThrow(/redis.url is required/);
  });

  it('KEDA watches the BullMQ waiting list of the configured queue', () => {
    const { objects } = render([KEDA, { redis: { keyPrefix: 'prod' }, queue: { name: 'jobs' } }]);
    const so = one(objects, 'ScaledObject');
    const triggers = (so.spec as { triggers: { type: string; metadata: Record<string, string> }[] }).triggers;
    expect(triggers.map((t) => t.type)).toEqual(['redis', 'redis']);
    // Queued runs drive growth; running runs (one per VM slot) keep busy runners from being scaled away.
    expect(triggers[0].metadata).toMatchObject({
      listName: 'prod:bull:jobs:wait',
      listLength: '4',
      address: 'redis-master:6379',
    });
    expect(triggers[1].metadata).toMatchObject({
      listName: 'prod:bull:jobs:active',
      listLength: '2',
      activationListLength: '0',
    });
    expect(find(objects, 'TriggerAuthentication')).toEqual([]);
    expect(find(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    const withPassword = render([KEDA, { runner: { keda: { redis: { passwordSecret: { name: 'pw' } } } } }]).objects;
    const auth = one(withPassword, 'TriggerAuthentication');
    expect(auth.spec).toEqual({ secretTargetRef: [{ parameter: 'password', name: 'pw', key: 'redis-password' }] });
    const so2 = one(withPassword, 'ScaledObject').spec as { triggers: { authenticationRef: { name: string } }[] };
    for (const t of so2.triggers) expect(t.authenticationRef.name).toBe(auth.metadata.name);
  });

  it('monitoring objects are created only when asked for', () => {
    expect(find(render().objects, 'ServiceMonitor')).toEqual([]);
    expect(find(render().objects, 'PrometheusRule')).toEqual([]);
    const { objects } = render([EVERYTHING]);
    const monitors = find(objects, 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['demo-lichen-api', 'demo-lichen-runner']);
    const services = find(objects, 'Service');
    for (const m of monitors) {
      const spec = m.spec as {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
      const svc = services.filter((s) => matches(spec.selector.matchLabels, s.metadata.labels!));
      expect(svc.map((s) => s.metadata.name)).toEqual([m.metadata.name]);
      const ports = (svc[0].spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      expect(ports).toContain(spec.endpoints[0].port);
      expect(spec.endpoints[0].path).toBe('/metrics');
    }
    const rule = one(objects, 'PrometheusRule');
    const alerts = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups[0].rules;
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining(['LichenQueueBackingUp', 'LichenRunsFailing', 'LichenRunnerCrashLooping']),
    );
    for (const a of alerts) {
      expect(a.expr).not.toMatch(/\{\{|\}\}/);
      // Parentheses and braces balance in every PromQL expression.
      for (const [o, c] of [
        ['(', ')'],
        ['{', '}'],
        ['[', ']'],
      ]) {
        expect(a.expr.split(o).length, `${a.alert} ${o}${c}`).toBe(a.expr.split(c).length);
      }
    }
  });

  it('NetworkPolicies admit only the API port and the runners\u2019 metrics port, when enabled', () => {
    expect(find(render().objects, 'NetworkPolicy')).toEqual([]);
    const { objects } = render([EVERYTHING]);
    const deps = deployments(objects);
    const policies = find(objects, 'NetworkPolicy');
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['demo-lichen-api', 'demo-lichen-runner']);
    for (const p of policies) {
      const spec = p.spec as {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { ports: { port: string }[]; from?: unknown[] }[];
      };
      const pods = deps.filter((d) => matches(spec.podSelector.matchLabels, d.spec.template.metadata.labels));
      expect(pods.map((d) => d.metadata.name)).toEqual([p.metadata.name]);
      expect(spec.policyTypes).toEqual(['Ingress']);
      const declared = pods[0].spec.template.spec.containers[0].ports!.map((x) => x.name);
      expect(spec.ingress).toHaveLength(1);
      for (const port of spec.ingress[0].ports) expect(declared).toContain(port.port);
    }
    const runner = policies.find((p) => p.metadata.name.endsWith('-runner'))!.spec as {
      ingress: { ports: { port: string }[]; from: unknown[] }[];
    };
    expect(runner.ingress[0].ports).toEqual([{ port: 'metrics', protocol: 'TCP' }]);
    expect(runner.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
  });

  it('the Ingress routes to the API Service port', () => {
    const { objects } = render([EVERYTHING]);
    const ing = one(objects, 'Ingress').spec as {
      tls: { hosts: string[]; secretName: string }[];
      rules: {
        host: string;
        http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] };
      }[];
    };
    expect(ing.tls).toEqual([{ hosts: ['lichen.example.com'], secretName: 't' }]);
    const backend = ing.rules[0].http.paths[0].backend.service;
    const svc = one(objects, 'Service', '-api').spec as { ports: { port: number }[] };
    expect(backend).toEqual({ name: 'demo-lichen-api', port: { number: svc.ports[0].port } });
  });

  it('pods roll when the configuration changes and not otherwise', () => {
    const ann = (o: Obj[]) =>
      (one(render(o).objects, 'Deployment', '-runner') as Deployment).spec.template.metadata.annotations;
    expect(ann([])).toEqual(ann([]));
    expect(ann([{ config: { logLevel: 'debug' } }])['checksum/config']).not.toBe(ann([])['checksum/config']);
    expect(ann([{ redis: { url: 'redis://other:6379' } }])['checksum/secret']).not.toBe(ann([])['checksum/secret']);
  });

  it('NOTES.txt tells how to reach the API and warns when no key is configured', () => {
    const plain = render().notes;
    expect(plain).toContain('port-forward service/demo-lichen-api');
    expect(plain).toContain('WARNING: no API keys');
    expect(plain).toContain('615000 ms');
    const full = render([EVERYTHING]).notes;
    expect(full).toContain('https://lichen.example.com/docs');
    expect(full).not.toContain('WARNING');
  });

  it('names follow the release, nameOverride and fullnameOverride', () => {
    expect(one(render([], 'lichen').objects, 'Deployment', '-api').metadata.name).toBe('lichen-api');
    expect(one(render([{ fullnameOverride: 'sandbox' }]).objects, 'Deployment', '-api').metadata.name).toBe(
      'sandbox-api',
    );
    expect(one(render([{ nameOverride: 'lc' }]).objects, 'Deployment', '-api').metadata.name).toBe('demo-lc-api');
  });

  it('an image digest pins the image', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const d = one(render([{ image: { repository: 'r/lichen', digest } }]).objects, 'Deployment', '-api') as Deployment;
    expect(d.spec.template.spec.containers[0]).toMatchObject({ image: `r/lichen@${digest}` });
    const t = one(render([{ image: { tag: '1.2.3' } }]).objects, 'Deployment', '-api') as Deployment;
    expect(t.spec.template.spec.containers[0]).toMatchObject({ image: 'lichen:1.2.3' });
  });
});
