/** `make migrate`: applies pending migrations to the database DATABASE_URL names. */
import { loadConfig, redactUrl } from '../config.ts';
import { connectDatabase, withTimeouts } from './connect.ts';
import { migrate } from './migrate.ts';

const config = loadConfig();
// No time limit here: a migration may build an index over a big table.
const database = await connectDatabase(withTimeouts(config, { statementTimeoutMs: 0, queryTimeoutMs: 0 }));
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
