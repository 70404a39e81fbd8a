import { readdir, readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { projectRoot } from '../paths.ts';
import type { Config } from '../config.ts';
import { connectDatabase, withTimeouts, type Database } from './connect.ts';

/** The repository's migrations/ folder: numbered plain-SQL files, frozen once they have landed. */
export const MIGRATIONS_DIR = pathToFileURL(`${projectRoot()}/migrations/`);

/** Any fixed number: every process that migrates this database takes the same advisory lock. */
const MIGRATION_LOCK_KEY = 72_027_001;

export interface Migration {
  version: number;
  name: string;
  script: string;
}

/** Reads `NNNN_name.sql` files in order; two files with one number is an error. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  // Files resolve against the folder only when its URL ends in a slash; without one, its parent.
  const folder = dir.href.endsWith('/') ? dir : new URL(`${dir.href}/`);
  const files = (await readdir(folder)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!match) throw new Error(`migration file name must be NNNN_name.sql: ${file}`);
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) throw new Error(`two migrations numbered ${version}`);
    migrations.push({
      version,
      name: match[2] as string,
      script: await readFile(new URL(file, folder), 'utf8'),
    });
  }
  // Names sort as text (10_ before 9_): apply by number.
  return migrations.sort((a, b) => a.version - b.version);
}

/**
 * Applies pending migrations in one transaction under an advisory lock, each with its ledger row,
 * so that an API and a consumer starting at once neither race nor apply a file twice.
 * Returns the versions it applied.
 */
export async function migrate(database: Database, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await readMigrations());
  return database.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
    await sql`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`.execute(trx);
    const done = await sql<{ version: number }>`select version from schema_migrations`.execute(trx);
    const applied = new Set(done.rows.map((r) => Number(r.version)));
    const ran: number[] = [];
    for (const m of all) {
      if (applied.has(m.version)) continue;
      await database.execScript(trx, m.script);
      await sql`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`.execute(trx);
      ran.push(m.version);
    }
    return ran;
  });
}

/**
 * Start-up migrations. On PostgreSQL they run on a connection of their own without the request
 * timeouts (an index built over a big table may take minutes); PGlite has one connection, `database`.
 */
export async function migrateAtStart(
  config: Pick<Config, 'database'>,
  database: Database,
): Promise<number[]> {
  if (database.backend !== 'postgres') return migrate(database);
  const unbounded = await connectDatabase(withTimeouts(config, { statementTimeoutMs: 0, queryTimeoutMs: 0 }));
  try {
    return await migrate(unbounded);
  } finally {
    await unbounded.close();
  }
}
