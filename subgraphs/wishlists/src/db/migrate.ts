import { fileURLToPath } from 'node:url';
import { migrate, type DatabaseClient } from '@bth/platform/db';
import type { Logger } from '@bth/platform/logger';

const FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Brings a wishlists database up to date: `drizzle/`. Idempotent. */
export function migrateWishlists(database: DatabaseClient, logger: Logger): Promise<string[]> {
  return migrate(database, FOLDER, logger);
}
