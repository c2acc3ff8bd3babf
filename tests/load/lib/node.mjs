// Node side of the load scenarios: a GraphQL client, member sign-up through the API, and a
// closed-loop load generator with latency percentiles. Used by runner.mjs and bench.mjs.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { LOGIN, PASSWORD, REQUEST_CODE, SIGN_UP, VERIFY, signUpInput } from './operations.js';

export async function gql(url, query, variables = {}, token) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  return { status: response.status, ...body };
}

/**
 * The load generator's client: node:http with a keep-alive pool, cheaper per request than fetch,
 * so less of the shared CPU goes to the generator. `maxSockets` bounds connections per host
 * (requests beyond it queue in the client, as they would in a browser or a mobile app's pool).
 */
export function httpClient({ maxSockets = 256 } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const post = (url, payload, headers = {}) =>
    new Promise((resolve, reject) => {
      const body = Buffer.from(JSON.stringify(payload));
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            } catch {
              resolve({ status: res.statusCode, errors: [{ extensions: { code: `HTTP_${res.statusCode}` } }] });
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    post,
    gql: (url, query, variables = {}, token, headers = {}) =>
      post(url, { query, variables }, token ? { authorization: `Bearer ${token}`, ...headers } : headers),
    close: () => agent.destroy(),
  };
}

/** gql that throws on any error: for setup steps, where a failure must stop the run. */
export async function must(url, query, variables, token) {
  const response = await gql(url, query, variables, token);
  if (response.errors) throw new Error(`${query.slice(0, 40)}…: ${JSON.stringify(response.errors)}`);
  return response.data;
}

/**
 * Signs up and logs in `count` members through the router, reading each verification code from
 * the users service's development mailbox. scrypt makes this ~100 ms of CPU per member.
 */
export async function signUpMembers(routerUrl, usersBase, count, concurrency = 8) {
  const tokens = [];
  let next = 0;
  async function one() {
    const email = `load-${randomUUID().slice(0, 12)}@example.com`;
    await must(routerUrl, REQUEST_CODE, { e: email });
    const mailbox = await (await fetch(`${usersBase}/dev/mailbox?email=${encodeURIComponent(email)}`)).json();
    const { verifyEmail } = await must(routerUrl, VERIFY, { e: email, c: mailbox.code });
    await must(routerUrl, SIGN_UP, { input: signUpInput(email, verifyEmail.verificationToken) });
    const { login } = await must(routerUrl, LOGIN, { e: email, p: PASSWORD });
    return { email, token: login.accessToken };
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        tokens.push(await one());
      }
    }),
  );
  return tokens;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);

export function summarise(latenciesMs, elapsedMs, extra = {}) {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  const round = (v) => Math.round(v * 100) / 100;
  return {
    requests: sorted.length,
    throughputPerSecond: round((sorted.length / elapsedMs) * 1000),
    meanMs: round(mean),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    ...extra,
  };
}

/**
 * Closed-loop load: `vus` virtual users each run `iteration(vu, i)` back to back until
 * `durationMs` has passed or `iterations` (total) ran. Returns per-request latencies and counts by
 * the label each iteration returns ("ok", a result type, "error"…).
 */
export async function runLoad({ vus, durationMs, iterations, iteration }) {
  const latencies = [];
  const outcomes = {};
  let started = 0;
  const deadline = durationMs ? Date.now() + durationMs : Infinity;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: vus }, async (_, vu) => {
      for (;;) {
        if (Date.now() >= deadline || (iterations !== undefined && started >= iterations)) return;
        const i = started++;
        const t0 = performance.now();
        let label;
        try {
          label = await iteration(vu, i);
        } catch (error) {
          label = `error: ${error.message.slice(0, 80)}`;
        }
        latencies.push(performance.now() - t0);
        outcomes[label] = (outcomes[label] ?? 0) + 1;
      }
    }),
  );
  return { latencies, outcomes, elapsedMs: performance.now() - begin };
}

/** Peak resident memory of processes while `work` runs, sampled from /proc every 200 ms (Linux). */
export async function peakRss(pids, work) {
  const { readFile } = await import('node:fs/promises');
  const peak = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const sample = async () => {
    await Promise.all(
      Object.entries(pids).map(async ([name, pid]) => {
        try {
          const status = await readFile(`/proc/${pid}/status`, 'utf8');
          const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
          peak[name] = Math.max(peak[name], Math.round(kb / 1024));
        } catch {
          // process gone or not Linux: leave the peak as it is
        }
      }),
    );
  };
  const timer = setInterval(() => void sample(), 200);
  try {
    await sample();
    return { result: await work(), peakRssMb: peak };
  } finally {
    clearInterval(timer);
    await sample();
  }
}
