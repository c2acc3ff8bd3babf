import { runMigrationScript } from '@bth/platform/db';
import { migrateOrders } from '../db/migrate.js';
import { readEnv } from '../env.js';

/** `node subgraphs/orders/dist/scripts/migrate.js`: the orders database brought up to date, then exit (see `runMigrationScript`). */
runMigrationScript('orders', readEnv, migrateOrders);
