import { createDatabase, ensureDatabase } from '@bth/platform/db';
import { createLogger } from '@bth/platform/logger';
import { requireDependency, runMain } from '@bth/platform/service';
import { migrateUsers } from '../db/migrate.js';
import { readEnv } from '../env.js';

/**
 * `node subgraphs/users/dist/scripts/migrate.js`: brings the users database up to date and exits,
 * without serving. The Kubernetes migration Job and every pod's init container run it
 * (deploy/k8s): idempotent, and the named lock in `migrate` makes a second runner wait for the first.
 */
runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'users-migrate' }, env.LOG_LEVEL);
  await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
  const database = createDatabase({ url: env.DATABASE_URL, poolSize: 1, logger });
  try {
    const applied = await migrateUsers(database, logger);
    logger.info('database up to date', { applied: applied.length });
  } finally {
    await database.close();
  }
});
