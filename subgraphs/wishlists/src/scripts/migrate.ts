import { runMigrationScript } from '@bth/platform/db';
import { migrateWishlists } from '../db/migrate.js';
import { readEnv } from '../env.js';

/** `node subgraphs/wishlists/dist/scripts/migrate.js`: the wishlists database brought up to date, then exit (see `runMigrationScript`). */
runMigrationScript('wishlists', readEnv, migrateWishlists);
