// The fault matrix of issue 9. Each `inject` performs the fault and returns once it is over (the
// broken part restarted or resumed and serving again); the harness measures around it. Fault
// lengths are chosen to outlast the product's deadlines (orders → inventory: 7 s before the
// hardening work) so a missing deadline shows as latency, while keeping the matrix to minutes.
import { delay } from './harness.mjs';

const replicas = (h) => h.stack.instances.filter((i) => i.name === 'products');

/**
 * @param {object} [lengths]
 * @param {number} [lengths.downMs] how long a killed part stays down: long enough for several
 *   breaker windows and deadlines to pass, short enough for a quick matrix
 * @param {number} [lengths.freezeMs] how long a frozen replica stays frozen: longer than the landed
 *   7 s inventory timeout, so a frozen peer without a deadline is visible as latency
 */
export function makeScenarios({ downMs = 5_000, freezeMs = 8_000 } = {}) {
  const down = `${downMs / 1000} s`;
  const frozen = `${freezeMs / 1000} s`;
  return [
    {
      name: 'kill-products-replica',
      title: `SIGKILL one products replica, restarted after ${down}`,
      async inject(h) {
        const [replica] = replicas(h);
        await replica.kill();
        await delay(downMs);
        await replica.start();
      },
    },
    {
      name: 'freeze-products-replica',
      title: `SIGSTOP one products replica for ${frozen}, then SIGCONT`,
      async inject(h) {
        const [replica] = replicas(h);
        replica.pause();
        await delay(freezeMs);
        replica.resume();
      },
    },
    {
      name: 'freeze-all-products',
      title: `SIGSTOP every products replica for ${frozen}, then SIGCONT`,
      async inject(h) {
        for (const replica of replicas(h)) replica.pause();
        await delay(freezeMs);
        for (const replica of replicas(h)) replica.resume();
      },
    },
    {
      name: 'kill-redis',
      title: `kill -9 Redis (private server), restarted empty after ${down}`,
      needs: 'redis',
      async inject(h) {
        await h.redis.kill();
        await delay(downMs);
        await h.redis.start();
      },
    },
    {
      name: 'kill-mariadb',
      title: `kill -9 MariaDB (private server), restarted on the same data after ${down} (crash recovery)`,
      async inject(h) {
        await h.mariadb.kill();
        await delay(downMs);
        await h.mariadb.start();
      },
    },
    {
      name: 'rabbitmq-across-sale-start',
      title: "RabbitMQ (private node) stopped 2 s before a sale's startsAt, started again 6 s after it",
      needs: 'rabbitmq',
      recoveryKind: 'sale order',
      async setup(h, { log }) {
        const [saleProductId] = await h.createProducts([100_000]);
        // Far enough ahead that the broker is surely down before the sale opens (warm-up is 3 s).
        const startsAt = new Date(Date.now() + 6_000);
        const saleEventId = await h.createSale(saleProductId, startsAt, new Date(startsAt.getTime() + 10 * 60_000));
        log(`sale ${saleEventId} starts at ${startsAt.toISOString()}`);
        return { saleProductId, saleEventId, startsAt: startsAt.getTime() };
      },
      async inject(h, { startsAt, faultBegins }) {
        await delay(Math.max(0, startsAt - 2_000 - Date.now()));
        faultBegins();
        await h.rabbitmq.stop();
        await delay(Math.max(0, startsAt + 6_000 - Date.now()));
        await h.rabbitmq.start();
      },
      /** What sale buyers saw from the sale's start until the broker was back. */
      extra(records, { startsAt, faultEnd }) {
        const counts = {};
        for (const r of records) {
          if (r.kind !== 'sale order' || r.start < startsAt || r.start >= faultEnd) continue;
          counts[r.label] = (counts[r.label] ?? 0) + 1;
        }
        return { saleOrdersAfterStartWhileBrokerDown: counts };
      },
    },
    {
      name: 'kill-orders',
      title: 'SIGKILL orders mid-flight, restarted at once',
      async inject(h) {
        const orders = h.stack.service('orders');
        await orders.kill();
        await orders.start();
      },
    },
    {
      name: 'rolling-restart',
      title: 'SIGTERM each service in turn (users, products ×2, wishlists, orders, events, router), each back before the next',
      async inject(h) {
        const order = ['users', 'products', 'wishlists', 'orders', 'events', 'router'];
        const instances = [...h.stack.instances].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name) || a.index - b.index);
        for (const instance of instances) {
          await instance.stop();
          await instance.start();
        }
      },
    },
  ];
}

/** The matrix `npm run test:faults` runs. */
export const SCENARIOS = makeScenarios();
