import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { APP_SERVICES, defaultPort, envProblems, type AppService, type Endpoint } from './env-contract.js';

/**
 * deploy/k8s cannot be applied on the project's machines (no cluster), so this reads the production
 * overlay the way kustomize does (resources, generators, patches' targets) and checks every object:
 * built-in kinds against the Kubernetes OpenAPI schemas (kubernetes-models `validate()`), the
 * operators' custom resources structurally, the references between objects, and each container's
 * environment against the env schema of the service it runs (the compose test's helper).
 */
const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const K8S = join(ROOT, 'deploy', 'k8s');
const OVERLAY = join(K8S, 'overlays', 'production');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown };
type Container = {
  name: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
  }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
};
type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean };
  volumes?: { name: string; configMap?: { name: string } }[];
};

interface Build {
  objects: Obj[];
  /** configMapGenerator names (their objects are made by kustomize with a hash suffix). */
  generated: Map<string, Record<string, string>>;
  files: string[];
  problems: string[];
}

const readYaml = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);

/** Reads a kustomization as kustomize would, recording every file it names and any that is missing. */
function build(dir: string, out: Build = { objects: [], generated: new Map(), files: [], problems: [] }): Build {
  const file = join(dir, 'kustomization.yaml');
  if (!existsSync(file)) {
    out.problems.push(`${dir}: no kustomization.yaml`);
    return out;
  }
  out.files.push(file);
  const k = readYaml(file)[0] as unknown as {
    resources?: string[];
    configMapGenerator?: { name: string; files?: string[] }[];
    patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  };
  const before = out.objects.length;
  for (const resource of k.resources ?? []) {
    const path = resolve(dir, resource);
    if (!existsSync(path)) out.problems.push(`${file}: resource ${resource} does not exist`);
    else if (statSync(path).isDirectory()) build(path, out);
    else {
      out.files.push(path);
      out.objects.push(...readYaml(path));
    }
  }
  for (const generator of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const name of generator.files ?? []) {
      const path = resolve(dir, name);
      if (!existsSync(path)) out.problems.push(`${file}: configMapGenerator ${generator.name} file ${name} does not exist`);
      else data[name] = readFileSync(path, 'utf8');
    }
    out.generated.set(generator.name, data);
  }
  for (const patch of k.patches ?? []) {
    if (patch.path && !existsSync(resolve(dir, patch.path))) out.problems.push(`${file}: patch ${patch.path} does not exist`);
    const target = patch.target;
    const targets = out.objects.filter(
      (o) => (!target?.kind || o.kind === target.kind) && (!target?.name || o.metadata.name === target.name),
    );
    if (target && targets.length === 0) out.problems.push(`${file}: patch target ${target.kind}/${target.name} matches nothing`);
    // Inline JSON 6902 `replace`/`add` operations (what the overlays use) are applied, so the
    // checks below see the objects as kustomize builds them.
    for (const op of patch.patch
      ? ((parseAllDocuments(patch.patch)[0]?.toJS() ?? []) as { op: string; path: string; value: unknown }[])
      : []) {
      if (op.op !== 'replace' && op.op !== 'add') {
        out.problems.push(`${file}: patch op ${op.op} is not applied by this test`);
        continue;
      }
      const keys = op.path.split('/').slice(1);
      for (const object of targets) {
        let node = object as Record<string, unknown>;
        for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
        node[keys.at(-1)!] = op.value;
      }
    }
  }
  if (out.objects.length === before && !k.configMapGenerator) out.problems.push(`${file}: adds no object`);
  return out;
}

const BUILT_IN: Record<string, { new (data: never): { validate(): void } }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The operators' CRDs are not in kubernetes-models: their resources are checked for the shape and
 * the settings this deployment relies on (replication, quorum sizes, references between them).
 */
function customResourceProblems(o: Obj, all: Obj[], secretKeys: Map<string, Set<string>>): string[] {
  const spec = o.spec as Record<string, any> | undefined;
  const where = `${o.kind}/${o.metadata.name}`;
  if (!spec || typeof spec !== 'object') return [`${where}: no spec`];
  const problems: string[] = [];
  const secretRef = (ref: { name?: string; key?: string } | undefined, what: string) => {
    if (!ref?.name || !ref.key) problems.push(`${where}: ${what} needs a name and a key`);
    else if (!secretKeys.get(ref.name)?.has(ref.key))
      problems.push(`${where}: ${what} ${ref.name}/${ref.key} is not in secrets.example.yaml`);
  };
  if (o.apiVersion === 'k8s.mariadb.com/v1alpha1') {
    if (o.kind === 'MariaDB') {
      if (!Number.isInteger(spec.replicas) || spec.replicas < 3)
        problems.push(`${where}: needs at least 3 replicas (a primary and two to fail over to)`);
      if (spec.replication?.enabled !== true && spec.galera?.enabled !== true)
        problems.push(`${where}: neither replication nor Galera is enabled`);
      if (spec.replication?.enabled && spec.replication.primary?.autoFailover !== true)
        problems.push(`${where}: replication without automatic failover`);
      if (!spec.storage?.size) problems.push(`${where}: no storage size`);
      secretRef(spec.rootPasswordSecretKeyRef, 'rootPasswordSecretKeyRef');
      return problems;
    }
    if (!['Database', 'User', 'Grant', 'Connection'].includes(o.kind))
      return [`${where}: not a mariadb-operator kind this deployment uses`];
    if (!all.some((m) => m.kind === 'MariaDB' && m.metadata.name === spec.mariaDbRef?.name))
      problems.push(`${where}: mariaDbRef names no MariaDB`);
    if (o.kind === 'User' || o.kind === 'Connection') secretRef(spec.passwordSecretKeyRef, 'passwordSecretKeyRef');
    if (o.kind === 'Grant' && !(Array.isArray(spec.privileges) && spec.database && spec.username))
      problems.push(`${where}: needs privileges, database and username`);
    if (o.kind === 'Connection') {
      if (!all.some((u) => u.kind === 'User' && u.apiVersion === o.apiVersion && (u.spec as any)?.name === spec.username))
        problems.push(`${where}: username ${spec.username} has no User`);
      if (!all.some((d) => d.kind === 'Database' && (d.spec as any)?.name === spec.database))
        problems.push(`${where}: database ${spec.database} has no Database`);
      if (!spec.secretName || !spec.secretTemplate?.key) problems.push(`${where}: needs secretName and secretTemplate.key`);
    }
    return problems;
  }
  if (o.apiVersion === 'rabbitmq.com/v1beta1' && (o.kind === 'User' || o.kind === 'Permission')) {
    if (!all.some((c) => c.kind === 'RabbitmqCluster' && c.metadata.name === spec.rabbitmqClusterReference?.name))
      problems.push(`${where}: rabbitmqClusterReference names no RabbitmqCluster`);
    if (o.kind === 'User' && !secretKeys.get(spec.importCredentialsSecret?.name)?.has('password'))
      problems.push(`${where}: importCredentialsSecret is not in secrets.example.yaml`);
    if (o.kind === 'Permission') {
      if (!all.some((u) => u.kind === 'User' && u.apiVersion === o.apiVersion && u.metadata.name === spec.userReference?.name))
        problems.push(`${where}: userReference names no User`);
      for (const right of ['configure', 'write', 'read'])
        if (typeof spec.permissions?.[right] !== 'string') problems.push(`${where}: permissions.${right} is not set`);
    }
    return problems;
  }
  if (o.apiVersion === 'rabbitmq.com/v1beta1' && o.kind === 'RabbitmqCluster') {
    // Quorum queues need a majority: an odd node count of at least 3 survives the loss of one.
    if (!Number.isInteger(spec.replicas) || spec.replicas < 3 || spec.replicas % 2 === 0)
      problems.push(`${where}: quorum queues need an odd replica count ≥ 3`);
    if (!/default_queue_type\s*=\s*quorum/.test(spec.rabbitmq?.additionalConfig ?? ''))
      problems.push(`${where}: default_queue_type is not quorum`);
    return problems;
  }
  return [`${where}: ${o.apiVersion} is neither a built-in kind this test knows nor an operator's`];
}

const serviceOfCommand = (command: string[] | undefined): AppService | undefined => {
  const line = (command ?? []).join(' ');
  if (/\brouter\/dist\/index\.js\b/.test(line)) return 'router';
  const name = /\bsubgraphs\/(\w+)\/dist\/(index|scripts\/migrate)\.js\b/.exec(line)?.[1];
  return name && name in APP_SERVICES ? (name as AppService) : undefined;
};

const podSpecOf = (o: Obj): PodSpec | undefined =>
  o.kind === 'Deployment' || o.kind === 'Job' ? ((o.spec as any)?.template?.spec as PodSpec) : undefined;

/** Every problem with the built overlay; empty when it is in step. */
function manifestProblems(b: Build, secrets: Obj[]): string[] {
  const problems = [...b.problems];
  const { objects } = b;
  const names = new Set<string>();
  const secretKeys = new Map<string, Set<string>>(
    secrets.map((s) => [s.metadata.name, new Set(Object.keys((s.stringData as object) ?? {}))]),
  );
  for (const o of objects)
    if (o.kind === 'Connection') secretKeys.set((o.spec as any).secretName, new Set([(o.spec as any).secretTemplate?.key]));
  const configMaps = new Map<string, Record<string, string>>(
    objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, (o.data as Record<string, string>) ?? {}]),
  );

  for (const o of [...objects, ...secrets]) {
    const id = `${o.kind}/${o.metadata?.name}`;
    if (names.has(id)) problems.push(`${id}: defined twice`);
    names.add(id);
    if (!DNS_LABEL.test(o.metadata?.name ?? '')) problems.push(`${id}: name is not a DNS label`);
    const Model = BUILT_IN[`${o.apiVersion}/${o.kind}`];
    if (Model) {
      try {
        new Model(o as never).validate();
      } catch (error) {
        problems.push(`${id}: ${(error as Error).message}`);
      }
    } else problems.push(...customResourceProblems(o, objects, secretKeys));
  }

  // The Services, by the one service each selects: the endpoints a URL in the config may name.
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const appOf = (d: Obj) => serviceOfCommand(podSpecOf(d)!.containers[0]?.command);
  const envOf = (container: Container) => {
    const env: Record<string, string | undefined> = {};
    for (const from of container.envFrom ?? []) {
      if (from.configMapRef) {
        const data = configMaps.get(from.configMapRef.name);
        if (!data) problems.push(`${container.name}: envFrom ConfigMap ${from.configMapRef.name} does not exist`);
        Object.assign(env, data);
      } else problems.push(`${container.name}: envFrom a Secret hides which variables it sets; name each with secretKeyRef`);
    }
    for (const { name, value, valueFrom } of container.env ?? []) {
      const ref = valueFrom?.secretKeyRef;
      if (ref && !secretKeys.get(ref.name)?.has(ref.key))
        problems.push(`${container.name}: ${name} reads ${ref.name}/${ref.key}, which no Secret has`);
      env[name] = ref ? undefined : value;
    }
    return env;
  };
  const endpoints: Endpoint[] = [];
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const spec = service.spec as { selector?: Record<string, string>; ports: { port: number; targetPort?: string | number }[] };
    const selected = deployments.filter((d) =>
      Object.entries(spec.selector ?? {}).every(([k, v]) => (d.spec as any).template.metadata.labels?.[k] === v),
    );
    if (selected.length !== 1) {
      problems.push(`Service/${service.metadata.name}: selects ${selected.length} Deployments`);
      continue;
    }
    const app = appOf(selected[0]!)!;
    const container = podSpecOf(selected[0]!)!.containers[0]!;
    const listens = Number(envOf(container).PORT ?? defaultPort(app));
    for (const port of spec.ports) {
      const target =
        typeof port.targetPort === 'string'
          ? container.ports?.find((p) => p.name === port.targetPort)?.containerPort
          : (port.targetPort ?? port.port);
      if (target !== listens)
        problems.push(`Service/${service.metadata.name}: port ${port.port} reaches ${target}, ${app} listens on ${listens}`);
      endpoints.push({ host: service.metadata.name, kind: app, port: port.port });
    }
  }

  for (const workload of objects.filter((o) => podSpecOf(o))) {
    const id = `${workload.kind}/${workload.metadata.name}`;
    const pod = podSpecOf(workload)!;
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${id}: pod does not set runAsNonRoot`);
    for (const volume of pod.volumes ?? [])
      if (volume.configMap && !configMaps.has(volume.configMap.name) && !b.generated.has(volume.configMap.name))
        problems.push(`${id}: volume ${volume.name} mounts ConfigMap ${volume.configMap.name}, which does not exist`);
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `${id} container ${container.name}`;
      const app = serviceOfCommand(container.command);
      if (!app) {
        problems.push(`${where}: runs none of our entry points`);
        continue;
      }
      if (container.securityContext?.readOnlyRootFilesystem !== true || container.securityContext.allowPrivilegeEscalation !== false)
        problems.push(`${where}: needs readOnlyRootFilesystem and no privilege escalation`);
      if (!container.resources?.requests?.cpu || !container.resources.requests.memory || !container.resources.limits?.memory)
        problems.push(`${where}: needs cpu and memory requests and a memory limit`);
      const env = envOf(container);
      problems.push(
        ...envProblems(app, env, endpoints, { production: env.NODE_ENV === 'production', allReplicas: false }).map(
          (p) => `${where} (${p})`,
        ),
      );
    }
    if (workload.kind !== 'Deployment') continue;
    const main = pod.containers[0]!;
    const port = main.ports?.[0];
    for (const [probe, path] of [
      ['readinessProbe', '/health/ready'],
      ['livenessProbe', '/health/live'],
    ] as const) {
      const get = main[probe]?.httpGet;
      if (get?.path !== path || (get.port !== port?.name && get.port !== port?.containerPort))
        problems.push(`${id}: ${probe} must GET ${path} on the service's port`);
    }
  }

  for (const o of objects.filter((x) => x.kind === 'HorizontalPodAutoscaler' || x.kind === 'PodDisruptionBudget')) {
    const spec = o.spec as any;
    const target =
      o.kind === 'HorizontalPodAutoscaler'
        ? deployments.find((d) => d.metadata.name === spec.scaleTargetRef?.name)
        : deployments.find((d) =>
            Object.entries(spec.selector?.matchLabels ?? {}).every(([k, v]) => (d.spec as any).template.metadata.labels?.[k] === v),
          );
    if (!target) problems.push(`${o.kind}/${o.metadata.name}: targets no Deployment`);
  }
  for (const d of deployments) {
    const app = appOf(d);
    const has = (kind: string) => objects.some((o) => o.kind === kind && o.metadata.name === d.metadata.name);
    if (!has('PodDisruptionBudget')) problems.push(`Deployment/${d.metadata.name}: no PodDisruptionBudget`);
    if (app && ['router', 'products', 'orders'].includes(app) && !has('HorizontalPodAutoscaler'))
      problems.push(`Deployment/${d.metadata.name}: no HorizontalPodAutoscaler`);
  }
  for (const app of Object.keys(APP_SERVICES) as AppService[])
    if (!deployments.some((d) => appOf(d) === app)) problems.push(`${app}: no Deployment`);
  return problems;
}

const buildOverlay = () => build(OVERLAY);
const exampleSecrets = () => readYaml(join(K8S, 'secrets.example.yaml'));

describe('deploy/k8s production overlay', () => {
  it('is valid against the Kubernetes schemas and in step with the services', () => {
    const b = buildOverlay();
    expect(b.objects.length).toBeGreaterThan(20);
    expect(manifestProblems(b, exampleSecrets())).toEqual([]);
  });

  it('runs products at least twice and migrates before serving', () => {
    const { objects } = buildOverlay();
    const products = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'bth-products')!;
    // 3 in production (the overlay's patch, applied by `build`).
    expect((products.spec as { replicas: number }).replicas).toBe(3);
    const job = objects.find((o) => o.kind === 'Job')!;
    const jobPod = podSpecOf(job)!;
    const migrated = [...(jobPod.initContainers ?? []), ...jobPod.containers].map((c) => serviceOfCommand(c.command));
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const app = serviceOfCommand(podSpecOf(d)!.containers[0]!.command)!;
      if (app === 'router') continue;
      expect(migrated).toContain(app);
      expect(podSpecOf(d)!.initContainers?.map((c) => c.command?.join(' '))).toContain(`node subgraphs/${app}/dist/scripts/migrate.js`);
    }
  });

  it('serves the committed supergraph', () => {
    const copy = readFileSync(join(K8S, 'base', 'supergraph.graphql'), 'utf8');
    const committed = readFileSync(join(ROOT, 'schema', 'supergraph.graphql'), 'utf8');
    // Out of step: `npm run k8s:supergraph` copies schema/supergraph.graphql into deploy/k8s/base.
    expect(copy === committed, 'deploy/k8s/base/supergraph.graphql differs from schema/supergraph.graphql').toBe(true);
    expect(buildOverlay().generated.get('bth-supergraph')).toHaveProperty(['supergraph.graphql']);
  });

  // The checks above pass only while they can fail: each drift below, planted in a copy, is found.
  describe('finds planted drift', () => {
    const planted = (change: (objects: Obj[], b: Build) => void) => {
      const b = structuredClone(buildOverlay());
      change(b.objects, b);
      return manifestProblems(b, exampleSecrets());
    };
    const find = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as any;

    it('a field of the wrong type (schema validation)', () => {
      const problems = planted((o) => (find(o, 'Deployment', 'bth-orders').spec.replicas = 'two'));
      expect(problems).toContainEqual(expect.stringMatching(/^Deployment\/bth-orders: .*replicas must be integer/));
    });
    it('a variable the service does not read, and one it needs left out', () => {
      const problems = planted((o) => {
        const data = find(o, 'ConfigMap', 'bth-wishlists-config').data;
        data.ORDERS_URL = data.ORDERS_INTERNAL_URL;
        delete data.ORDERS_INTERNAL_URL;
      });
      expect(problems).toContain(
        'Deployment/bth-wishlists container wishlists (wishlists: ORDERS_URL is not a variable the service reads)',
      );
      expect(problems).toContain(
        'Deployment/bth-wishlists container wishlists (wishlists: ORDERS_INTERNAL_URL is not set; its default addresses the local machine)',
      );
    });
    it('a production secret not set', () => {
      const problems = planted((o) => {
        const container = find(o, 'Deployment', 'bth-users').spec.template.spec.containers[0];
        container.env = container.env.filter((e: { name: string }) => e.name !== 'BLIND_INDEX_KEY');
      });
      expect(problems).toEqual(['Deployment/bth-users container users (users: BLIND_INDEX_KEY must be set in production)']);
    });
    it('a URL at a Service that does not exist or at the wrong port', () => {
      const problems = planted((o) => {
        const data = find(o, 'ConfigMap', 'bth-router-config').data;
        data.USERS_URL = 'http://bth-user:4001/graphql';
        data.ORDERS_URL = 'http://bth-orders:4000/graphql';
      });
      expect(problems).toContain(
        'Deployment/bth-router container router (router: USERS_URL points at bth-user, which is not a service of this deployment)',
      );
      expect(problems).toContain(
        'Deployment/bth-router container router (router: ORDERS_URL uses port 4000 of bth-orders, which listens on 4004)',
      );
    });
    it('a probe on another path, a missing HPA', () => {
      const problems = planted((o) => {
        find(o, 'Deployment', 'bth-products').spec.template.spec.containers[0].readinessProbe.httpGet.path = '/healthz';
        o.splice(o.indexOf(find(o, 'HorizontalPodAutoscaler', 'bth-orders')), 1);
      });
      expect(problems).toContain("Deployment/bth-products: readinessProbe must GET /health/ready on the service's port");
      expect(problems).toContain('Deployment/bth-orders: no HorizontalPodAutoscaler');
    });
    it('an operator resource that lost its settings', () => {
      const problems = planted((o) => {
        find(o, 'RabbitmqCluster', 'bth-rabbitmq').spec.replicas = 2;
        find(o, 'MariaDB', 'bth-mariadb').spec.replication.enabled = false;
      });
      expect(problems).toContain('RabbitmqCluster/bth-rabbitmq: quorum queues need an odd replica count ≥ 3');
      expect(problems).toContain('MariaDB/bth-mariadb: neither replication nor Galera is enabled');
    });
  });

  it('reports a kustomization that names a file that is not there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bth-kustomize-'));
    try {
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        'resources:\n  - gone.yaml\nconfigMapGenerator:\n  - name: x\n    files:\n      - gone.graphql\n',
      );
      expect(build(dir).problems).toEqual([
        `${join(dir, 'kustomization.yaml')}: resource gone.yaml does not exist`,
        `${join(dir, 'kustomization.yaml')}: configMapGenerator x file gone.graphql does not exist`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
