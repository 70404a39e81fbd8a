/** `make migrate`: applies pending migrations to the database DATABASE_URL names. */
import { loadConfig, redactUrl } from '../config.ts';
import { connectDatabase } from './connect.ts';
import { migrate } from './migrate.ts';

const config = loadConfig();
const database = await connectDatabase(config);
try {
  const applied = await migrate(database);
  console.log(
    applied.length > 0
      ? `applied migrations ${applied.join(', ')} to ${redactUrl(config.database.url)}`
      : `${redactUrl(config.database.url)} is up to date`,
  );
} finally {
  await database.close();
}
