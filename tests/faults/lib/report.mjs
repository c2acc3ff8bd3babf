// Renders RELIABILITY.md from one run of the fault matrix: the measured table, a line per scenario
// on what a client saw, and the prose on the mechanisms those numbers exercise.

const KINDS = ['order', 'sale order', 'listing', 'payment'];

function byKind(outcomes) {
  const grouped = {};
  for (const [key, count] of Object.entries(outcomes)) {
    const [kind, label] = [key.slice(0, key.indexOf(': ')), key.slice(key.indexOf(': ') + 2)];
    grouped[kind] ??= {};
    grouped[kind][label] = count;
  }
  return grouped;
}

const parts = (counts) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([label, n]) => `${n} ${label}`)
    .join(', ');

function outcomesCell(outcomes) {
  const grouped = byKind(outcomes);
  return KINDS.filter((k) => grouped[k])
    .map((k) => `${k}: ${parts(grouped[k])}`)
    .join('<br>');
}

const ms = (v) => (v === null || v === undefined ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);

function invariantsCell(inv) {
  if (inv.hold) return `hold (sold ${inv.soldUnits} = standing ${inv.standingUnits}; PENDING cleared in ${ms(inv.pendingClearedMs)})`;
  const broken = [];
  if (!inv.inventoryConsistent) broken.push('inventory report inconsistent');
  if (!inv.soldEqualsStanding) broken.push(`sold ${inv.soldUnits} ≠ standing ${inv.standingUnits}`);
  if (inv.pendingLeft !== 0) broken.push(`${inv.pendingLeft} PENDING left`);
  if (inv.clientOrdersNotStanding) broken.push(`${inv.clientOrdersNotStanding} confirmed orders not standing`);
  if (inv.doubleCharged) broken.push(`${inv.doubleCharged} orders charged twice`);
  return `**BROKEN**: ${broken.join('; ')}`;
}

/** One sentence on what a client saw during the fault, from the counts. */
function sawLine(s) {
  const grouped = byKind(s.faultWindowOutcomes);
  const orders = { ...grouped.order, ...grouped['sale order'] };
  const total = Object.values(orders).reduce((a, b) => a + b, 0);
  const placed = orders.Order ?? 0;
  const refusals = Object.entries(orders).filter(([label]) => label !== 'Order');
  const listing = grouped.listing ?? {};
  const listingTotal = Object.values(listing).reduce((a, b) => a + b, 0);
  const sentences = [
    `${placed} of ${total} orders in flight during the fault were placed` +
      (refusals.length ? `; the rest answered ${parts(Object.fromEntries(refusals))}` : ''),
    `the listing answered ${listing.ok ?? 0} of ${listingTotal}` +
      (Object.keys(listing).some((l) => l !== 'ok')
        ? ` (${parts(Object.fromEntries(Object.entries(listing).filter(([l]) => l !== 'ok')))})`
        : ''),
    `the slowest order took ${ms(s.orderLatencyMs.faultMax)} (p50 ${ms(s.orderLatencyMs.baselineP50)} before the fault)`,
    s.recoveryMs === null
      ? `no ${s.recoveryKind ?? 'order'} succeeded after the fault ended`
      : `the first ${s.recoveryKind ?? 'order'} after the fault succeeded ${ms(s.recoveryMs)} after it ended`,
  ];
  const after = byKind(s.afterFaultOutcomes ?? {});
  const refusedAfter = Object.fromEntries(
    KINDS.flatMap((kind) =>
      Object.entries(after[kind] ?? {})
        .filter(([label]) => !['Order', 'ok', 'InsufficientStock', 'OrderNotPayable'].includes(label))
        .map(([label, n]) => [`${kind} ${label}`, n]),
    ),
  );
  if (Object.keys(refusedAfter).length) sentences.push(`after the fault ended still ${parts(refusedAfter)}`);
  if (s.internalTextLeaks) sentences.push(`**${s.internalTextLeaks} answers carried internal text** (e.g. ${s.leakSample})`);
  if (s.extra?.saleOrdersAfterStartWhileBrokerDown) {
    const sale = s.extra.saleOrdersAfterStartWhileBrokerDown;
    sentences.push(`sale orders from startsAt until the broker was back: ${parts(sale) || 'none'}`);
  }
  if (s.serviceErrorLines) sentences.push(`services logged ${s.serviceErrorLines} error lines`);
  return `${sentences.join('; ')}.`;
}

export function renderReport(run) {
  const m = run.machine;
  const rows = run.scenarios.map(
    (s) =>
      `| ${s.title} | ${s.offered.perSecond} req/s (${s.vus} clients, ${s.offered.seconds} s) | ${s.faultSeconds} s | ${outcomesCell(s.faultWindowOutcomes)} | ` +
      `${ms(s.orderLatencyMs.faultP50)} / ${ms(s.orderLatencyMs.faultP99)} (before: ${ms(s.orderLatencyMs.baselineP50)} / ${ms(s.orderLatencyMs.baselineP99)}) | ` +
      `${s.recoveryMs === null ? 'not recovered' : ms(s.recoveryMs)} | ${invariantsCell(s.invariants)} | ${s.internalTextLeaks} |`,
  );
  return `# Reliability

What a client of the supergraph sees when a part of it fails under load, and what stays true.
Everything in the table below is **measured by \`npm run test:faults\`** (tests/faults/run.mjs),
which rewrites this file and RELIABILITY.json; the prose after it explains the mechanisms those
numbers exercise. A fast subset of the same scenarios runs in CI (tests/e2e/faults-smoke.test.ts).

## How it is measured

- One supergraph on free ports: users, products ×2, wishlists, orders, events and the router as
  child processes, started by the same launcher as \`npm start\` (scripts/stack.mjs). MariaDB,
  Redis and RabbitMQ are **private servers of the run** (own port, data directory, node name),
  never the machine's shared ones, so they can be killed.
- Load: a closed loop of ${run.vus} signed-in members, each placing 1-unit orders back to back
  (fresh idempotency key each) on three products (two with ample stock, one with 120 units that
  sells out), every fourth request the anonymous product listing, every fifth order paid twice
  at once under two keys (a double click). The load runs 3 s before the fault, through it, and at
  least 6 s after it (longer until an order succeeds again). A client gives up after 30 s.
- **Fault window**: from the fault's start until the broken part is back (restarted and ready,
  or resumed). Outcomes and order latency are those of requests *in flight* at some moment of
  that window (a request stuck on a frozen process since before the fault counts); "before" is
  the requests that finished before the fault began. A client that finds the connection refused
  waits 200 ms before its next request, as a real client would before reconnecting.
- **Recovery**: from the end of the fault until the first order started after it succeeded (for
  the sale scenario: the first *sale* order), waiting up to 30 s; "not recovered" otherwise.
- **Invariants**, checked after each scenario: no order of the run's products left PENDING
  (waited for, up to 60 s; the table gives how long it took); the admin \`inventoryReport\`
  consistent (initial stock = stock + Σ ledger); its sold units equal to the units of orders in
  AWAITING_PAYMENT or later; every order a client was told was placed is standing; no order with
  two successful payments. \`test:faults\` exits 1 when any invariant breaks.
- **Leaks**: answers whose body contains internal text (an address, a socket path, SQL, a stack
  frame, the gateway's raw subgraph response).

## Matrix

Measured ${run.measuredAt} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GiB, Node ${m.node}${m.mariadb ? `, MariaDB ${m.mariadb}` : ''};
all services, the private servers and the load generator on this one machine.

| Fault | Load offered | Fault window | Client outcomes in the fault window | Orders p50 / p99 in the fault window | Recovery | Invariants | Leaks |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Outcome labels: a typed result of \`placeOrder\`/\`payOrder\` (\`Order\`, \`InsufficientStock\`,
\`InventoryUnavailable\`, \`SaleNotLive\`, \`OrderNotPayable\`…), \`ok\` for a listing, otherwise
the error's \`extensions.code\` with "(retryable)" when \`extensions.retryable\` was true, or
what the transport saw ("connection failed", "no answer in 30 s", "HTTP 5xx (not JSON)").

### What a client saw

${run.scenarios.map((s) => `- **${s.title}**: ${sawLine(s)}`).join('\n')}

## Mechanisms

These are the parts of the product the matrix exercises. Their numbers (deadlines, cool-downs,
how long a fault is felt) are **measured by \`npm run test:faults\`** above; the settings behind
them are in each service's README and \`env.ts\`, each with a one-line reason.

**One error contract.** Whatever fails, a client gets GraphQL errors with an \`extensions.code\`
from one closed list, never an internal URL, host, port, SQL, file path or stack. The router
passes a subgraph's own errors through whatever HTTP status carried them. Infrastructure that is
down or restarting (MariaDB, Redis where it is required, RabbitMQ where it is required, a
subgraph) answers \`SERVICE_UNAVAILABLE\` or \`UPSTREAM_UNAVAILABLE\` with \`retryable: true\` and
\`retryAfterSeconds\`, HTTP 503 when nothing of the operation could run. Unexpected errors are
masked and logged once at error level with the request id.

**Deadlines.** Every hop has one: the router gives each subgraph attempt a deadline and passes
the time left downstream, so no subgraph works on a request its client has given up on; orders
gives each inventory call a deadline. A frozen process therefore costs a bounded wait, never a
hang as long as the freeze (the "freeze" rows show the bound).

**Failover and outlier ejection.** The router balances each subgraph over its replicas; a query
whose attempt fails or times out is retried once on another replica, and a replica that fails or
times out repeatedly is ejected for a cool-down exactly like one whose port refuses connections.
A replica that has answered nothing for 1 s while calls wait on it gets a liveness probe
(\`/health/live\`, 500 ms): a live process answers it at once even while its calls wait on a row
lock; a frozen one cannot, is ejected, and idempotent calls waiting on it move on at once.
Orders retries such a reserve on the other products replica with the same order id: reserve is
idempotent by order id, so the retry can never take stock twice. A replica frozen in the middle
of a transaction cannot hold its rows either: products' connections end after 3 s idle inside a
transaction (\`idle_transaction_timeout\`), which rolls it back and frees the locks before the
other replica's buyers reach their 5 s lock wait.

**Circuit breaker (orders → inventory).** Opens when every inventory replica has been ejected
for hanging or failing (found by the liveness probe, so within about 2 s of a full hang at any
request rate), or when half of at least 10 recent calls failed; while open, orders answer
\`InventoryUnavailable\` (retryable, with \`retryAfterSeconds\`) at once instead of queueing behind a
dead dependency. A timeout of a call that began before inventory last answered is old news and
never counts, so a backlog cannot open it once inventory is healthy again; after a hang the
probe keeps asking, and the breaker closes as soon as a replica answers ("freeze every replica").
A replica that merely refused a connection (a restart) never counts towards "every replica".

**Reconciler.** An order is PENDING only while its reservation is in flight. A scheduler in
orders finds PENDING orders older than one inventory deadline plus a margin, asks inventory what
it holds for them (idempotently), and settles each as AWAITING_PAYMENT or FAILED with its stock
released, so an order cut off mid-flight ("kill orders") never holds stock for long.

**Outbox.** Domain events (a sale scheduled, started, ended) are written to an outbox table in
the same transaction as the change and published after commit with publisher confirms; consumers
acknowledge after their own commit and drop duplicates. A broker outage delays messages but loses
none; the relay drains the outbox when RabbitMQ is back.

**Sales by the clock.** Products learns a sale's window when it is scheduled or changed, not
when it opens, and applies it by its own clock: the price, \`Product.activeSale\` and what
\`placeOrder\` accepts agree at every instant with RabbitMQ up or down. Messages still confirm
and correct the state ("RabbitMQ stopped across a sale's start").

**Revocation fallback.** Logouts and password changes are stored in MariaDB; Redis only caches
them. A token revoked before a Redis restart stays refused after it, and while Redis is down the
check asks users, whose MariaDB holds the truth, instead of accepting ("kill Redis": members keep
ordering, revoked tokens stay out). Caches and limits that live in Redis degrade to MariaDB reads meanwhile.

**Crash safety of the data.** Stock changes only inside a MariaDB transaction that holds the
product rows; every change writes a ledger row. After kill -9 the server recovers from its redo
log on restart, and the invariants above are checked on the recovered data ("kill -9 MariaDB").
`;
}
