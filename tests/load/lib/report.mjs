// Turns the bench's results into BENCHMARKS.md (the part above MARKER; what follows it is kept,
// so the "What each change bought" rows other changes add survive every run) and SVG charts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { barChart } from './svg.mjs';

export const MARKER = '<!-- Everything above is written by `npm run bench`; edit below this line only. -->';
const KEPT_HEADING = '## What each change bought';

const SCENARIO_TITLES = {
  listing: 'Cached listing `products(first: 20)`, anonymous',
  me: 'Authenticated `me { id }`',
  'order-hot': '`placeOrder`, one hot product',
  'mariadb-baseline': 'MariaDB alone: lock-then-update transaction on one row',
  'inventory-api': 'Inventory API reserve, one hot product (no router)',
  'order-spread': '`placeOrder`, spread over the catalogue',
  overload: 'Overload: every buyer at once on one hot product',
  storm: 'Sold-out storm: buyers on a sale within one second',
  'sold-out': 'Refusals once sold out',
  'read-storm': 'Read storm: identical anonymous queries at once',
  'peer-listing-router': 'Listing via our router',
  'peer-listing-hive': 'Listing via Hive Gateway (Rust planner)',
  'peer-listing-subgraph': 'Listing straight to products',
  'peer-wishlist-router': 'Wishlist with products via our router',
  'peer-wishlist-hive': 'Wishlist with products via Hive Gateway',
  'cache-cached-subgraph': '100k catalogue, cached, at products',
  'cache-cached-router': '100k catalogue, cached, via router',
  'cache-uncached-subgraph': '100k catalogue, no cache, at products',
  'cache-uncached-router': '100k catalogue, no cache, via router',
};
const CROWDS = ['overload', 'storm', 'read-storm'];
const SERVICE_ORDER = ['router', 'peer', 'users', 'products', 'wishlists', 'orders', 'events', 'mariadb', 'redis'];

const n = (v, digits = 2) =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits });
const ratio = (a, b) => (a && b ? a / b : null);

/** Every target of issue 10 as { target, goal, measured, pass (true/false/null = not measured) }. */
export function evaluateTargets(results) {
  const s = results.scenarios;
  const rows = [];
  const add = (target, goal, measured, pass) => rows.push({ target, goal, measured, pass: measured === null ? null : pass });
  const cpu = (name) => s[name]?.cpuPerOpMs;

  add(
    '1. CPU per cached listing (services)',
    '≤ 1.2 ms',
    cpu('listing') ? `${n(cpu('listing').services, 3)} ms` : null,
    cpu('listing')?.services <= 1.2,
  );
  add(
    '1. CPU per authenticated `me` (services)',
    '≤ 1.0 ms',
    cpu('me') ? `${n(cpu('me').services, 3)} ms` : null,
    cpu('me')?.services <= 1.0,
  );
  add(
    '1. CPU per hot `placeOrder` (services)',
    '≤ 4 ms',
    cpu('order-hot') ? `${n(cpu('order-hot').services, 3)} ms` : null,
    cpu('order-hot')?.services <= 4,
  );
  add(
    '1. MariaDB CPU per hot `placeOrder`',
    '≤ 1.5 ms',
    cpu('order-hot')?.mariadb !== undefined ? `${n(cpu('order-hot').mariadb, 3)} ms` : null,
    cpu('order-hot')?.mariadb <= 1.5,
  );
  add(
    '1. Statements / commits per order',
    'reported',
    s['order-hot']?.statementsPerOrder !== undefined
      ? `${n(s['order-hot'].statementsPerOrder, 1)} / ${n(s['order-hot'].commitsPerOrder)}`
      : null,
    true,
  );
  const rate = (name) => s[name]?.throughputPerSecond;
  const peerListing = ratio(rate('peer-listing-router'), rate('peer-listing-hive'));
  add(
    '2. Listing: router ÷ Hive Gateway throughput',
    '≥ 1.0×',
    peerListing ? `${n(peerListing)}× (${n(rate('peer-listing-router'), 0)} vs ${n(rate('peer-listing-hive'), 0)}/s)` : null,
    peerListing >= 1,
  );
  const peerWishlist = ratio(rate('peer-wishlist-router'), rate('peer-wishlist-hive'));
  add(
    '2. Wishlist: router ÷ Hive Gateway throughput',
    '≥ 1.0×',
    peerWishlist ? `${n(peerWishlist)}× (${n(rate('peer-wishlist-router'), 0)} vs ${n(rate('peer-wishlist-hive'), 0)}/s)` : null,
    peerWishlist >= 1,
  );
  const straight = ratio(rate('peer-listing-router'), rate('peer-listing-subgraph'));
  add(
    '2. Listing: router ÷ straight to the subgraph',
    '≥ 0.6×',
    straight ? `${n(straight)}× (${n(rate('peer-listing-subgraph'), 0)}/s direct)` : null,
    straight >= 0.6,
  );
  const hotSpread = ratio(s['order-hot']?.ordersPerSecond, s['order-spread']?.ordersPerSecond);
  add(
    '3. Hot ÷ spread orders/s',
    '≥ 0.8×',
    hotSpread ? `${n(hotSpread)}× (${n(s['order-hot'].ordersPerSecond, 0)} vs ${n(s['order-spread'].ordersPerSecond, 0)}/s)` : null,
    hotSpread >= 0.8,
  );
  const inv = ratio(s['inventory-api']?.reservationsPerSecond, s['mariadb-baseline']?.transactionsPerSecond);
  add(
    '3. Inventory API hot reservations ÷ MariaDB lock-then-update rate',
    '≥ 2×',
    inv ? `${n(inv)}× (${n(s['inventory-api'].reservationsPerSecond, 0)} vs ${n(s['mariadb-baseline'].transactionsPerSecond, 0)}/s)` : null,
    inv >= 2,
  );
  const checked = Object.values(s).filter((r) => r.inventoryConsistent !== undefined);
  add(
    '3. Zero oversell, inventory report consistent after every run',
    'every run',
    checked.length ? `${checked.filter((r) => r.inventoryConsistent).length} of ${checked.length} runs` : null,
    checked.every((r) => r.inventoryConsistent),
  );
  const o = s.overload;
  if (o) {
    const p99Ratio = ratio(o.accepted?.p99Ms, o.sustainableP99Ms);
    add(
      '4. Overload: accepted p99 ÷ p99 at the sustainable rate',
      '≤ 2×',
      p99Ratio
        ? `${n(p99Ratio)}× (${n(o.accepted.p99Ms, 0)} vs ${n(o.sustainableP99Ms, 0)} ms)`
        : o.accepted?.requests === 0
          ? 'no order accepted'
          : null,
      p99Ratio !== null && p99Ratio <= 2,
    );
    add(
      '4. Overload: excess answered with a coded retryable error in ms',
      'OVERLOADED/RATE_LIMITED with retryAfterSeconds, p99 ≤ 50 ms, nothing else',
      `${n(o.refused?.requests, 0)} refused (p99 ${n(o.refused?.p99Ms, 0)} ms), ${n(o.other, 0)} other answers`,
      o.refused?.requests > 0 && o.refused.p99Ms <= 50 && o.other === 0 && o.retryAfterMissing === 0,
    );
  } else add('4. Overload', 'see above', null, null);
  const c = (name) => s[name]?.p50Ms;
  const atSubgraph =
    c('cache-cached-subgraph') && c('cache-uncached-subgraph') ? 1 - c('cache-cached-subgraph') / c('cache-uncached-subgraph') : null;
  const viaRouter =
    c('cache-cached-router') && c('cache-uncached-router') ? 1 - c('cache-cached-router') / c('cache-uncached-router') : null;
  add(
    `5. Cache on a ${n(results.catalogueSize ?? 100000, 0)}-product catalogue: p50 cut at products`,
    '≥ 85 % lower',
    atSubgraph === null ? null : `${n(atSubgraph * 100, 1)} % (${n(c('cache-cached-subgraph'))} vs ${n(c('cache-uncached-subgraph'))} ms)`,
    atSubgraph >= 0.85,
  );
  add(
    '5. The same through the router',
    'stated',
    viaRouter === null ? null : `${n(viaRouter * 100, 1)} % (${n(c('cache-cached-router'))} vs ${n(c('cache-uncached-router'))} ms)`,
    true,
  );
  const st = s.storm;
  if (st) {
    add(
      `6. Storm: orders from ${n(st.buyers, 0)} buyers on ${st.units} units`,
      `exactly ${st.units}`,
      `${n(st.saleSold, 0)} sold, ${st.orders} answered \`Order\``,
      st.saleSold === st.units && st.orders === st.units && st.inventoryConsistent,
    );
    const unexpected = Object.entries(st.unexpected ?? {});
    add(
      '6. Storm: every other buyer refused SaleSoldOut/InsufficientStock',
      'no timeout, no error',
      unexpected.length ? unexpected.map(([k, v]) => `${v}× ${k}`).join(', ') : 'all',
      unexpected.length === 0,
    );
    add('6. Storm: last buyer answered', '≤ 12 s', `${n(st.lastAnsweredS)} s`, st.lastAnsweredS <= 12);
  } else add('6. Sold-out storm', 'see above', null, null);
  const so = s['sold-out'];
  add(
    '6. CPU per refusal once sold out, behind the router',
    '≤ 0.5 ms',
    so ? `${n(so.behindRouterCpuPerRefusalMs, 3)} ms` : null,
    so?.behindRouterCpuPerRefusalMs <= 0.5,
  );
  const rs = s['read-storm'];
  add(
    `7. Read storm: ${n(rs?.ops ?? 1000, 0)} identical queries reaching products`,
    '≤ 50',
    rs ? `${rs.reachedProducts}` : null,
    rs?.reachedProducts <= 50,
  );
  // The peer is not one of our services.
  const rss = Object.entries(results.peakRssMb).filter(([label]) => label !== 'peer');
  const worst = rss.sort((a, b) => b[1] - a[1])[0];
  add(
    '8. Peak RSS of every service',
    '≤ 150 MB',
    worst ? `max ${worst[1]} MB (${worst[0]})` : null,
    rss.every(([, mb]) => mb <= 150),
  );
  return rows;
}

function charts(results, resultsDir) {
  const dir = join(resultsDir, 'charts');
  mkdirSync(dir, { recursive: true });
  const entries = Object.entries(results.scenarios);
  const titled = (name) => SCENARIO_TITLES[name] ?? name;
  const files = {
    throughput: barChart({
      title: 'Throughput per scenario (operations per second)',
      unit: '/s',
      series: ['ops/s'],
      rows: entries.map(([name, r]) => ({ label: titled(name), values: [r.throughputPerSecond ?? 0] })),
    }),
    latency: barChart({
      title: 'Latency per closed-loop scenario (ms; crowds in the text)',
      unit: 'ms',
      series: ['p50', 'p95', 'p99'],
      // The crowd scenarios (answers in seconds to minutes) would flatten every other bar: their latencies are in the text.
      rows: entries
        .filter(([name]) => !CROWDS.includes(name))
        .map(([name, r]) => ({ label: titled(name), values: [r.p50Ms ?? 0, r.p95Ms ?? 0, r.p99Ms ?? 0] })),
    }),
    cpu: (() => {
      const services = SERVICE_ORDER.filter((svc) => entries.some(([, r]) => r.cpuPerOpMs?.[svc]));
      return barChart({
        title: 'CPU per operation, stacked by process (ms)',
        unit: 'ms',
        series: services,
        stacked: true,
        rows: entries.map(([name, r]) => ({ label: titled(name), values: services.map((svc) => r.cpuPerOpMs?.[svc] ?? 0) })),
      });
    })(),
  };
  for (const [name, svg] of Object.entries(files)) writeFileSync(join(dir, `${name}.svg`), svg);
  return Object.fromEntries(Object.keys(files).map((name) => [name, join(dir, `${name}.svg`)]));
}

export function writeReport({ results, outDir, resultsDir, jsonFile, previous }) {
  const targets = evaluateTargets(results);
  const chartFiles = charts(results, resultsDir);
  const m = results.machine;
  const s = results.scenarios;
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\`${results.smoke ? ' --smoke (a seconds-long check that the bench works; not numbers to quote)' : ''} at ${results.measuredAt}; raw numbers in \`${jsonFile}\`.`,
    'These are the numbers of the code the bench ran on; what each change bought, measured by its author before and after, is below the line.',
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GiB, Linux ${m.kernel}; Node ${m.node}; ${m.mariadb}; ${m.redis}.`,
    `Mode: ${results.mode}; ${results.seconds} s per closed-loop run. Every service, MariaDB, Redis and the load generator share these ${m.cores} cores.`,
    'MariaDB and Redis are shared with other programs on this machine: their CPU and the statement counts (global status deltas) include whatever else ran; "other CPU" says how much that was.',
    '',
    '## Targets (issue 10)',
    '',
    '| Target | Goal | Measured | Result |',
    '|---|---|---|---|',
    ...targets.map(
      (t) => `| ${t.target} | ${t.goal} | ${t.measured ?? 'not measured'} | ${t.pass === null ? '—' : t.pass ? 'pass' : '**miss**'} |`,
    ),
    '',
    '## Scenarios',
    '',
    '| Scenario | Clients | Operations | ops/s | p50 ms | p95 ms | p99 ms | Outcomes | Other CPU (cores) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...Object.entries(s).map(
      ([name, r]) =>
        `| ${SCENARIO_TITLES[name] ?? name} | ${r.vus ?? '—'} | ${n(r.ops, 0)} | ${n(r.throughputPerSecond, 1)} | ${n(r.p50Ms)} | ${n(r.p95Ms)} | ${n(r.p99Ms)} | ${Object.entries(
          r.outcomes ?? {},
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} | ${n(r.otherCores)}${r.disturbed ? ' (disturbed)' : ''}${r.attempt > 1 ? ' (repeated)' : ''} |`,
    ),
    '',
    '## CPU per operation (ms of utime+stime per completed operation)',
    '',
  ];
  const services = SERVICE_ORDER.filter((svc) => Object.values(s).some((r) => r.cpuPerOpMs?.[svc] !== undefined));
  lines.push(
    `| Scenario | ${services.join(' | ')} | services total | load generator |`,
    `|---|${services.map(() => '---').join('|')}|---|---|`,
    ...Object.entries(s).map(
      ([name, r]) =>
        `| ${SCENARIO_TITLES[name] ?? name} | ${services.map((svc) => n(r.cpuPerOpMs?.[svc], 3)).join(' | ')} | ${n(r.cpuPerOpMs?.services, 3)} | ${n(r.loadGeneratorCpuPerOpMs, 3)} |`,
    ),
    '',
    '"services total" sums our processes (router or peer and every subgraph replica), not MariaDB or Redis.',
    '',
  );
  const hot = s['order-hot'];
  if (hot?.statementsPerOrder !== undefined)
    lines.push(
      `A hot \`placeOrder\`: ${n(hot.statementsPerOrder, 1)} statements and ${n(hot.commitsPerOrder)} commits per order (MariaDB global status deltas).`,
      '',
    );
  if (s.overload) {
    const o = s.overload;
    lines.push(
      `Overload: accepted orders p50 ${n(o.accepted?.p50Ms)} / p99 ${n(o.accepted?.p99Ms)} ms; refusals ${n(o.refused?.requests, 0)} (p50 ${n(o.refused?.p50Ms)} / p99 ${n(o.refused?.p99Ms)} ms); sustainable-rate p99 ${n(o.sustainableP99Ms)} ms.`,
      '',
    );
  }
  if (s.storm)
    lines.push(
      `Sold-out storm: ${n(s.storm.saleSold, 0)} units sold, ${s.storm.orders} answered \`Order\` to ${n(s.storm.buyers, 0)} buyers; answers: ${Object.entries(
        s.storm.outcomes,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; last answered after ${n(s.storm.lastAnsweredS)} s.`,
      '',
    );
  lines.push(
    '## Peak memory (RSS, MB)',
    '',
    `| ${Object.keys(results.peakRssMb).join(' | ')} |`,
    `|${Object.keys(results.peakRssMb)
      .map(() => '---')
      .join('|')}|`,
    `| ${Object.values(results.peakRssMb).join(' | ')} |`,
    '',
    '## Charts',
    '',
    ...Object.entries(chartFiles).map(([name, file]) => `![${name}](${relative(outDir, file)})`),
    '',
  );
  if (results.failure) lines.push('## The run failed', '', '```', results.failure.slice(0, 2000), '```', '');
  if (results.notes.length) lines.push('## Notes', '', ...results.notes.map((note) => `- ${note}`), '');
  if (results.profiles && Object.keys(results.profiles).length) {
    lines.push(
      '## Where the CPU goes (profiles)',
      '',
      `\`--profile\` run: V8 CPU profiles (inspector, 1 ms sampling) of ${Object.keys(results.profiles).join(', ')} over the scenarios ${results.profileScenarios.join(', ')}; self time by package and the top functions, as a share of each process's busy time.`,
      '',
    );
    for (const [service, p] of Object.entries(results.profiles)) {
      lines.push(
        `**${service}** (${n(p.busyMs, 0)} ms busy): ${p.packages.map((x) => `${x.name} ${x.share} %`).join(', ')}.`,
        '',
        ...p.functions.map((x) => `- ${x.share} % \`${x.name}\``),
        '',
      );
    }
  }
  lines.push(MARKER, '');
  const keptAt = [previous.indexOf(MARKER), previous.indexOf(KEPT_HEADING)].filter((i) => i >= 0);
  let kept = keptAt.length ? previous.slice(Math.min(...keptAt)) : '';
  if (kept.startsWith(MARKER)) kept = kept.slice(MARKER.length).replace(/^\n+/, '');
  if (!kept.includes(KEPT_HEADING))
    kept = `${KEPT_HEADING}\n\n| Change | Before → after | How measured |\n|---|---|---|\n${kept ? `\n${kept}` : ''}`;
  return { targets, markdown: `${lines.join('\n')}\n${kept}`.replace(/\n*$/, '\n') };
}
