import type { z } from '@bth/platform/env';
import { envSchema as routerSchema, productionSecrets as routerSecrets } from '../../router/src/env.js';
import { envSchema as usersSchema, productionSecrets as usersSecrets } from '../../subgraphs/users/src/env.js';
import { envSchema as productsSchema, productionSecrets as productsSecrets } from '../../subgraphs/products/src/env.js';
import { envSchema as wishlistsSchema, productionSecrets as wishlistsSecrets } from '../../subgraphs/wishlists/src/env.js';
import { envSchema as ordersSchema, productionSecrets as ordersSecrets } from '../../subgraphs/orders/src/env.js';
import { envSchema as eventsSchema, productionSecrets as eventsSecrets } from '../../subgraphs/events/src/env.js';

/**
 * What a deployment (docker-compose.yml, the Kubernetes manifests) sets for a service, checked
 * against the zod schema the service itself parses at start: the one list of what it reads. Both
 * deploy tests use it, so a variable renamed or added in an `env.ts` fails them instead of being
 * found at a container's first start.
 */

export type AppService = 'router' | 'users' | 'products' | 'wishlists' | 'orders' | 'events';
export type InfraService = 'mariadb' | 'redis' | 'rabbitmq';
export type ServiceKind = AppService | InfraService;

type Shape = Record<string, z.ZodType>;

export const APP_SERVICES: Record<AppService, { schema: Shape; requiredInProduction: readonly string[] }> = {
  router: { schema: routerSchema, requiredInProduction: routerSecrets },
  // users also refuses to start in production without SMTP_URL (verification codes leave by SMTP).
  users: { schema: usersSchema, requiredInProduction: [...usersSecrets, 'SMTP_URL'] },
  products: { schema: productsSchema, requiredInProduction: productsSecrets },
  wishlists: { schema: wishlistsSchema, requiredInProduction: wishlistsSecrets },
  orders: { schema: ordersSchema, requiredInProduction: ordersSecrets },
  events: { schema: eventsSchema, requiredInProduction: eventsSecrets },
};

/** The port each infrastructure image listens on. */
export const INFRA_PORTS: Record<InfraService, number> = { mariadb: 3306, redis: 6379, rabbitmq: 5672 };
const INFRA_BY_SCHEME: Record<string, InfraService> = { 'mysql:': 'mariadb', 'redis:': 'redis', 'amqp:': 'rabbitmq' };

/** One address a deployment gives a process: a compose service or a Kubernetes Service. */
export interface Endpoint {
  host: string;
  kind: ServiceKind;
  port: number;
}

const defaultOf = (field: z.ZodType): unknown => {
  const parsed = field.safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
};

/** The port a service listens on when PORT is unset (its `envFragments.port(...)` default). */
export function defaultPort(service: AppService): number {
  return Number(defaultOf(APP_SERVICES[service].schema.PORT!));
}

/** Infrastructure a service connects to (it has DATABASE_URL, REDIS_URL or AMQP_URL). */
export function infraUsedBy(service: AppService): InfraService[] {
  const schema = APP_SERVICES[service].schema;
  return (
    [
      ['DATABASE_URL', 'mariadb'],
      ['REDIS_URL', 'redis'],
      ['AMQP_URL', 'rabbitmq'],
    ] as const
  )
    .filter(([name]) => name in schema)
    .map(([, infra]) => infra);
}

const urlsIn = (value: unknown): URL[] => {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return items.flatMap((item) => {
    try {
      return [new URL(String(item).trim())];
    } catch {
      return [];
    }
  });
};

/** Which service a URL variable addresses, read from its default: its scheme (infra) or its port (ours). */
function targetOf(field: z.ZodType): ServiceKind | undefined {
  const [url] = urlsIn(defaultOf(field));
  if (!url) return undefined;
  const infra = INFRA_BY_SCHEME[url.protocol];
  if (infra) return infra;
  return (Object.keys(APP_SERVICES) as AppService[]).find((s) => String(defaultPort(s)) === url.port);
}

const LOCAL = /\b(127\.0\.0\.1|localhost)\b|socketPath=/;

/**
 * Problems with the environment `env` that a deployment gives `service` (empty when none; a value
 * `undefined` is set from a Secret, so only its name is checked):
 * - a variable the service's schema does not know (a typo, or one renamed since);
 * - a value the schema refuses (the process would exit at start);
 * - a variable left unset that has no default, or whose default addresses the local machine
 *   (HOST, DATABASE_URL, the other services' URLs: inside a container or pod that is the process itself);
 * - in production, a secret left to its public development default (and users' SMTP_URL);
 * - a URL whose host is not one of `endpoints`, is not the kind of service the variable is for
 *   (read from its default), uses another port than that service listens on, or another path
 *   than the default's (`/graphql` or the base URL); and, when `allReplicas`, a list that leaves
 *   out one of that service's endpoints (compose names each products replica).
 */
export function envProblems(
  service: AppService,
  env: Record<string, string | undefined>,
  endpoints: Endpoint[],
  options: { production: boolean; allReplicas: boolean },
): string[] {
  const { schema, requiredInProduction } = APP_SERVICES[service];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    const field = schema[name];
    if (!field) {
      problems.push(`${service}: ${name} is not a variable the service reads`);
      continue;
    }
    // Set from a Secret: only its name is known here.
    if (value === undefined) continue;
    const parsed = field.safeParse(value);
    if (!parsed.success) problems.push(`${service}: ${name}=${value} is refused by its schema: ${parsed.error.issues[0]?.message}`);
    const target = targetOf(field);
    if (!target) continue;
    const defaultUrl = urlsIn(defaultOf(field))[0]!;
    const urls = urlsIn(value);
    for (const url of urls) {
      const endpoint = endpoints.find((e) => e.host === url.hostname);
      if (!endpoint) {
        problems.push(`${service}: ${name} points at ${url.hostname}, which is not a service of this deployment`);
        continue;
      }
      if (endpoint.kind !== target) problems.push(`${service}: ${name} points at ${url.hostname} (${endpoint.kind}), not at ${target}`);
      const port = url.port ? Number(url.port) : target in INFRA_PORTS ? INFRA_PORTS[target as InfraService] : 80;
      if (port !== endpoint.port)
        problems.push(`${service}: ${name} uses port ${port} of ${url.hostname}, which listens on ${endpoint.port}`);
      if (!(target in INFRA_PORTS) && url.pathname !== defaultUrl.pathname)
        problems.push(`${service}: ${name} has path ${url.pathname}, the service expects ${defaultUrl.pathname}`);
    }
    if (options.allReplicas) {
      const named = new Set(urls.map((u) => u.hostname));
      for (const endpoint of endpoints.filter((e) => e.kind === target && !named.has(e.host)))
        problems.push(`${service}: ${name} leaves out ${endpoint.host}`);
    }
  }
  for (const [name, field] of Object.entries(schema)) {
    if (name in env) continue;
    const parsed = field.safeParse(undefined);
    if (!parsed.success) problems.push(`${service}: ${name} is required (no default) and not set`);
    else if (LOCAL.test(JSON.stringify(parsed.data ?? '')))
      problems.push(`${service}: ${name} is not set; its default addresses the local machine`);
    else if (options.production && requiredInProduction.includes(name)) problems.push(`${service}: ${name} must be set in production`);
  }
  return problems;
}

/**
 * Docker Compose variable interpolation as `docker compose` does it with nothing exported:
 * `${VAR:-default}` and `${VAR-default}` take the default, `${VAR}` and `$VAR` are empty, `$$` is `$`.
 */
export function interpolate(value: string, environment: Record<string, string | undefined> = {}): string {
  return value.replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)/g, (match, braced?: string, fallback?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = braced ?? bare!;
    const set = environment[name];
    if (set !== undefined && (set !== '' || !match.includes(':-'))) return set;
    return fallback ?? '';
  });
}
