import { runMigrationScript } from '@bth/platform/db';
import { migrateEvents } from '../db/migrate.js';
import { readEnv } from '../env.js';

/** `node subgraphs/events/dist/scripts/migrate.js`: the events database brought up to date, then exit (see `runMigrationScript`). */
runMigrationScript('events', readEnv, migrateEvents);
