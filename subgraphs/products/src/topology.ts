import type { ConsumerTopology } from '@bth/platform/amqp';
import { SALE_MESSAGE_STATUSES } from './sale.messages.js';

/** Queue of the sale-message consumer (every replica consumes it), also its name in the inbox. */
export const SALES_CONSUMER = 'products.sales';

/**
 * The queues this service consumes (full names `<AMQP_EXCHANGE>.<queue>`, each with a `.dlq`).
 * `server.ts` declares exactly these; `npm run dlq` reads this file to find the dead-letter queues.
 */
export const consumers = {
  sales: { queue: SALES_CONSUMER, bindings: Object.keys(SALE_MESSAGE_STATUSES) },
} satisfies Record<string, ConsumerTopology>;
