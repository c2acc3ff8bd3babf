import { fileURLToPath } from 'node:url';
import { messagingMigrations, migrate, type DatabaseClient, type Logger } from '@bth/platform';

const FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Brings a products database up to date: the shared outbox/inbox tables, then `drizzle/`. Idempotent. */
export function migrateProducts(database: DatabaseClient, logger: Logger): Promise<string[]> {
  return migrate(database, FOLDER, logger, messagingMigrations);
}
