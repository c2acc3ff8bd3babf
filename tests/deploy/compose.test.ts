import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  APP_SERVICES,
  defaultPort,
  envProblems,
  infraUsedBy,
  interpolate,
  type AppService,
  type Endpoint,
  type InfraService,
  INFRA_PORTS,
} from './env-contract.js';

/**
 * docker-compose.yml cannot be started on the project's machines (no Docker engine), so nothing
 * else would notice it drifting from the services: this reads it as `docker compose` would
 * (anchors, `<<` merges, `${VAR:-default}`) and checks it against each service's env schema.
 */
const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const COMPOSE = join(ROOT, 'docker-compose.yml');

type ComposeService = {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, unknown> | string[];
  ports?: (string | number)[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  profiles?: string[];
};
type ComposeFile = { services: Record<string, ComposeService> };

const readCompose = (): ComposeFile => parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as ComposeFile;

const INFRA_IMAGES: Record<string, InfraService> = { mariadb: 'mariadb', redis: 'redis', rabbitmq: 'rabbitmq' };

function kindOf(service: ComposeService): AppService | InfraService | undefined {
  const image = service.image?.split(':')[0]?.split('/').pop() ?? '';
  if (image in INFRA_IMAGES && !service.command?.toString().includes('dist/')) return INFRA_IMAGES[image];
  const command = [service.command ?? []].flat().join(' ');
  if (/\brouter\/dist\/index\.js\b/.test(command)) return 'router';
  const subgraph = /\bsubgraphs\/(\w+)\/dist\/index\.js\b/.exec(command)?.[1];
  return subgraph && subgraph in APP_SERVICES ? (subgraph as AppService) : undefined;
}

function environmentOf(service: ComposeService): Record<string, string> {
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw) ? raw.map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]) : Object.entries(raw);
  return Object.fromEntries(entries.map(([name, value]) => [name, interpolate(String(value ?? ''))]));
}

const containerPort = (mapping: string | number) => Number(String(mapping).split(':').pop()!.split('/')[0]);

/** Every problem with the default (no profile) stack of `compose`; empty when it is in step. */
export function composeProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const services = Object.entries(compose.services).filter(([, s]) => !s.profiles?.length);
  const endpoints: Endpoint[] = [];
  for (const [name, service] of services) {
    const kind = kindOf(service);
    if (!kind) problems.push(`${name}: neither one of our services (command) nor MariaDB/Redis/RabbitMQ (image); teach this test about it`);
    else if (kind in INFRA_PORTS) endpoints.push({ host: name, kind, port: INFRA_PORTS[kind as InfraService] });
    else endpoints.push({ host: name, kind, port: Number(environmentOf(service).PORT ?? defaultPort(kind as AppService)) });
  }

  for (const [name, service] of services) {
    const kind = kindOf(service);
    if (!kind) continue;
    const test = [service.healthcheck?.test ?? []].flat().join(' ');
    if (kind in INFRA_PORTS) {
      if (!test || service.healthcheck?.disable || /^NONE\b/.test(test)) problems.push(`${name}: infrastructure without a health check`);
      continue;
    }
    const app = kind as AppService;
    const env = environmentOf(service);
    problems.push(
      ...envProblems(app, env, endpoints, { production: env.NODE_ENV === 'production', allReplicas: true }).map((p) => `${name} (${p})`),
    );

    const port = endpoints.find((e) => e.host === name)!.port;
    if (!new RegExp(`//(127\\.0\\.0\\.1|localhost):${port}/health/ready\\b`).test(test))
      problems.push(`${name}: health check must ask /health/ready on its own port ${port}`);
    for (const mapping of service.ports ?? [])
      if (containerPort(mapping) !== port)
        problems.push(`${name}: publishes container port ${containerPort(mapping)}, the service listens on ${port}`);

    const dependsOn: Record<string, { condition?: string }> = Array.isArray(service.depends_on)
      ? Object.fromEntries(service.depends_on.map((d) => [d, {}]))
      : (service.depends_on ?? {});
    for (const [dependency, { condition }] of Object.entries(dependsOn)) {
      if (!services.some(([n]) => n === dependency)) problems.push(`${name}: depends on ${dependency}, which is not a service`);
      if (condition !== 'service_healthy') problems.push(`${name}: depends on ${dependency} without condition: service_healthy`);
    }
    for (const infra of infraUsedBy(app)) {
      const hosts = endpoints.filter((e) => e.kind === infra).map((e) => e.host);
      if (!hosts.some((host) => host in dependsOn)) problems.push(`${name}: uses ${infra} but does not wait for it to be healthy`);
    }
  }
  return problems;
}

describe('docker-compose.yml', () => {
  it('is in step with what every service reads, listens on and needs', () => {
    expect(composeProblems(readCompose())).toEqual([]);
  });

  it('runs every service, products at least twice', () => {
    const kinds = Object.values(readCompose().services).map(kindOf);
    for (const service of Object.keys(APP_SERVICES)) expect(kinds).toContain(service);
    expect(kinds.filter((k) => k === 'products').length).toBeGreaterThanOrEqual(2);
  });

  // The check above passes only while it can fail: each drift below, planted in a copy, is found.
  describe('finds planted drift', () => {
    const planted = (change: (compose: ComposeFile) => void) => {
      const compose = structuredClone(readCompose());
      change(compose);
      return composeProblems(compose);
    };
    const env = (compose: ComposeFile, service: string) => compose.services[service]!.environment as Record<string, unknown>;

    it('a variable the service does not read', () => {
      expect(planted((c) => (env(c, 'orders').INVENTORY_URL = 'http://products-1:4002'))).toContain(
        'orders (orders: INVENTORY_URL is not a variable the service reads)',
      );
    });
    it('a service-to-service URL left to its local default', () => {
      expect(planted((c) => delete env(c, 'router').USERS_URL)).toContain(
        'router (router: USERS_URL is not set; its default addresses the local machine)',
      );
    });
    it('a URL at a service that does not exist, or at the wrong port', () => {
      expect(planted((c) => (env(c, 'router').ORDERS_URL = 'http://order:4004/graphql'))).toContain(
        'router (router: ORDERS_URL points at order, which is not a service of this deployment)',
      );
      expect(planted((c) => (env(c, 'router').ORDERS_URL = 'http://orders:4005/graphql'))).toContain(
        'router (router: ORDERS_URL uses port 4005 of orders, which listens on 4004)',
      );
    });
    it('a replica left out of a list', () => {
      expect(planted((c) => (env(c, 'orders').INVENTORY_URLS = 'http://products-1:4002'))).toContain(
        'orders (orders: INVENTORY_URLS leaves out products-2)',
      );
    });
    it('a value the schema refuses', () => {
      const problems = planted((c) => (env(c, 'products-1').LOCK_WAIT_TIMEOUT_SECONDS = '500'));
      expect(problems).toContainEqual(
        expect.stringMatching(/^products-1 \(products: LOCK_WAIT_TIMEOUT_SECONDS=500 is refused by its schema/),
      );
      expect(problems.every((p) => p.includes('LOCK_WAIT_TIMEOUT_SECONDS=500'))).toBe(true);
    });
    it('a health check on another path, and a dependency that is only started', () => {
      const problems = planted((c) => {
        c.services.events!.healthcheck = { test: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:4005/health/live')"] };
        (c.services.events!.depends_on as Record<string, { condition?: string }>).mariadb = { condition: 'service_started' };
      });
      expect(problems).toContain('events: health check must ask /health/ready on its own port 4005');
      expect(problems).toContain('events: depends on mariadb without condition: service_healthy');
    });
    it('infrastructure without a health check', () => {
      expect(planted((c) => delete c.services.redis!.healthcheck)).toEqual(['redis: infrastructure without a health check']);
    });
  });
});
