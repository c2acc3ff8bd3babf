import { fileURLToPath } from 'node:url';
import { migrate, type DatabaseClient } from '@bth/platform/db';
import type { Logger } from '@bth/platform/logger';
import { messagingMigrations } from '@bth/platform/outbox';

const FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Brings a events database up to date: the shared outbox/inbox tables, then `drizzle/`. Idempotent. */
export function migrateEvents(database: DatabaseClient, logger: Logger): Promise<string[]> {
  return migrate(database, FOLDER, logger, messagingMigrations);
}
