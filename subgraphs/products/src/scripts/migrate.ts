import { runMigrationScript } from '@bth/platform/db';
import { migrateProducts } from '../db/migrate.js';
import { readEnv } from '../env.js';

/** `node subgraphs/products/dist/scripts/migrate.js`: the products database brought up to date, then exit (see `runMigrationScript`). */
runMigrationScript('products', readEnv, migrateProducts);
