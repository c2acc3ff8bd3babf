import { createFieldCipher } from '@bth/platform/crypto';
import { createDatabase, ensureDatabase, migrate } from '@bth/platform/db';
import { createLogger } from '@bth/platform/logger';
import { runMain } from '@bth/platform/service';
import { fileURLToPath } from 'node:url';
import { readEnv } from '../env.js';
import { createUsersRepository } from '../users.repository.js';
import { createUsersService } from '../users.service.js';

/**
 * `npm run create-admin -- <email>`: makes an existing member an admin. The only way to raise a
 * role, by design: it needs shell access to a machine holding the database credentials.
 */
runMain(async () => {
  const email = process.argv[2];
  if (!email) throw new Error('Usage: npm run create-admin -- <email of an existing member>');
  const env = readEnv();
  const logger = createLogger({ service: 'users-admin' }, 'warn');
  await ensureDatabase(env.DATABASE_URL);
  const database = createDatabase({ url: env.DATABASE_URL, poolSize: 1, logger });
  try {
    await migrate(database, fileURLToPath(new URL('../../drizzle', import.meta.url)), logger);
    const users = createUsersService({
      repository: createUsersRepository(database.db),
      cipher: createFieldCipher(env.DATA_ENCRYPTION_KEY, env.BLIND_INDEX_KEY),
    });
    if (!(await users.promoteToAdmin(email))) throw new Error(`No member with e-mail ${email}; sign up first`);
    process.stdout.write(`${email} is now an ADMIN. Log in again to get a token with the new role.\n`);
  } finally {
    await database.close();
  }
});
