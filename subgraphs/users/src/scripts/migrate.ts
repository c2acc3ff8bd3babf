import { runMigrationScript } from '@bth/platform/db';
import { migrateUsers } from '../db/migrate.js';
import { readEnv } from '../env.js';

/** `node subgraphs/users/dist/scripts/migrate.js`: the users database brought up to date, then exit (see `runMigrationScript`). */
runMigrationScript('users', readEnv, migrateUsers);
