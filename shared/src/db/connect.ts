import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import type { Config } from '../config.ts';
import { HardenedPool, type PostgresPoolSettings } from './postgres-pool.ts';
import type { DB } from './schema.ts';

/**
 * The database behind one small interface: PostgreSQL through a `pg` pool, or PGlite (the same
 * Postgres, compiled to WASM, in process). Nothing above this module knows which one it has.
 */
export interface Database {
  readonly backend: Config['database']['backend'];
  readonly db: Kysely<DB>;
  /** Runs a multi-statement SQL script (a migration) inside the given transaction. */
  execScript(trx: Transaction<DB>, script: string): Promise<void>;
  /** True when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function connectDatabase(config: Pick<Config, 'database'>): Promise<Database> {
  const { database } = config;
  return database.backend === 'postgres' ? connectPostgres(database) : connectPglite(database.url);
}

/**
 * The same database with other statement and query timeouts, for work that may rightly run longer
 * than a request: migrations (an index built over a big table; 0 = no limit) and the search worker,
 * which bounds each statement itself (SEARCH_TIMEOUT_MS).
 */
export function withTimeouts(
  config: Pick<Config, 'database'>,
  timeouts: { statementTimeoutMs: number; queryTimeoutMs: number },
): Pick<Config, 'database'> {
  return { database: { ...config.database, ...timeouts } };
}

function connectPostgres(settings: PostgresPoolSettings): Database {
  const pool = new HardenedPool(settings);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    backend: 'postgres',
    db,
    async execScript(trx, script) {
      // pg sends a query without parameters over the simple protocol, which takes several statements.
      await sql.raw(script).execute(trx);
    },
    ping: (timeoutMs) => pingWith(db, timeoutMs),
    close: () => db.destroy(),
  };
}

async function connectPglite(url: string): Promise<Database> {
  const [{ PGlite }, { pg_trgm }, { fuzzystrmatch }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    // levenshtein, for the search's typo stage (migrations/0002_search.sql)
    import('@electric-sql/pglite/contrib/fuzzystrmatch'),
    import('kysely-pglite-dialect'),
  ]);
  const location = url.slice('pglite://'.length);
  const inMemory = location === '' || location === 'memory';
  const dataDir = inMemory ? 'memory://' : location;
  if (!inMemory) await mkdir(location, { recursive: true });
  // An undefined first argument silently drops the extensions: always pass the options object.
  const pglite = new PGlite({ dataDir, extensions: { pg_trgm, fuzzystrmatch } });
  await pglite.waitReady;
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  return {
    backend: 'pglite',
    db,
    async execScript(_trx, script) {
      // PGlite has one connection, held by the caller's transaction, so exec() runs inside it.
      await pglite.exec(script);
    },
    ping: (timeoutMs) => pingWith(db, timeoutMs),
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

async function pingWith(db: Kysely<DB>, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const query = sql`select 1 as ok`
    .execute(db)
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
