import type { ConsumerTopology } from '@bth/platform/amqp';
import { SALE_SOLD_OUT } from './sale.messages.js';

/** Queue of the `sale.sold_out` consumer, also its name in the inbox. */
export const SOLD_OUT_CONSUMER = 'events.sales';

/**
 * The queues this service consumes (full names `<AMQP_EXCHANGE>.<queue>`, each with a `.dlq`).
 * `server.ts` declares exactly these; `npm run dlq` reads this file to find the dead-letter queues.
 */
export const consumers = {
  soldOut: { queue: SOLD_OUT_CONSUMER, bindings: [SALE_SOLD_OUT] },
} satisfies Record<string, ConsumerTopology>;
