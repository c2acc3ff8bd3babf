// Reads the V8 CPU profiles (`lib/cpu-prof-hook.cjs`) that services write when the bench runs with
// --profile, and sums self time by package and by function: where a missed target's CPU goes.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const packageOf = (url) => {
  if (!url) return '(native / V8)';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1];
  if (url.startsWith('node:')) return 'node core';
  const ours = /\/(router|subgraphs\/[^/]+|packages\/[^/]+)\//.exec(url);
  return ours ? ours[1] : url.split('/').slice(-2).join('/');
};

function selfTimes(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const rows = [];
  for (const [id, micros] of self) {
    const { callFrame } = byId.get(id);
    rows.push({ fn: callFrame.functionName || '(anonymous)', url: callFrame.url, line: callFrame.lineNumber + 1, micros });
  }
  return rows;
}

/**
 * `dir` holds one folder per service (each replica's profile inside it). Returns
 * { service: { busyMs, packages: [{ name, share }], functions: [{ name, share }] } }, shares in %.
 */
export function summariseProfiles(dir, top = 10) {
  const byService = {};
  if (!existsSync(dir)) return {};
  for (const service of readdirSync(dir)) {
    for (const file of readdirSync(join(dir, service)).filter((f) => f.endsWith('.cpuprofile'))) {
      byService[service] ??= [];
      byService[service].push(...selfTimes(join(dir, service, file)));
    }
  }
  const out = {};
  for (const [service, rows] of Object.entries(byService)) {
    const total = rows.reduce((s, r) => s + r.micros, 0) || 1;
    const idle = rows.filter((r) => r.fn === '(idle)').reduce((s, r) => s + r.micros, 0);
    const busy = total - idle || 1;
    const sum = (key) => {
      const m = new Map();
      for (const r of rows) if (r.fn !== '(idle)') m.set(key(r), (m.get(key(r)) ?? 0) + r.micros);
      return [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
    };
    out[service] = {
      busyMs: Math.round(busy / 1000),
      packages: sum((r) => (r.fn === '(garbage collector)' || r.fn === '(program)' ? r.fn : packageOf(r.url))).map(([name, us]) => ({
        name,
        share: Math.round((us / busy) * 1000) / 10,
      })),
      functions: sum((r) => `${r.fn} ${r.url.startsWith('node:') ? r.url : packageOf(r.url)}${r.url ? `:${r.line}` : ''}`).map(
        ([name, us]) => ({ name, share: Math.round((us / busy) * 1000) / 10 }),
      ),
    };
  }
  return out;
}
