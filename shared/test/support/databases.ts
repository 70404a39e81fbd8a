/**
 * What the database suites share: the implementations under test (PGlite always, PostgreSQL on
 * TEST_POSTGRES_URL), each able to make new empty databases, and `describeEachDatabase`, which
 * declares a suite once per implementation around one migrated database. Each PostgreSQL run works
 * in databases of its own, created here and dropped afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { connectDatabase, type Database } from '../../src/db/connect.ts';
import { migrate } from '../../src/db/migrate.ts';
import { describeRealService, realService } from './real-services.ts';
import { ScratchPostgres } from './scratch-postgres.ts';

/** A new, empty database. */
export interface FreshDatabase {
  /** Another handle onto it: its own pool where the backend has pools, the one instance for PGlite. */
  open(): Promise<Database>;
}

export interface DatabaseTarget {
  readonly backend: Database['backend'];
  fresh(): Promise<FreshDatabase>;
  /** A Database whose server does not answer. */
  unreachable(): Promise<Database>;
  /** Closes every handle and drops every database this target made. */
  dispose(): Promise<void>;
}

export function openDatabase(url: string): Promise<Database> {
  return connectDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }));
}

export function pgliteTarget(): DatabaseTarget {
  const opened: Database[] = [];
  const open = async (): Promise<Database> => {
    const database = await openDatabase('pglite://memory');
    opened.push(database);
    return database;
  };
  return {
    backend: 'pglite',
    async fresh() {
      const database = await open();
      // One in-memory instance is the whole database: every handle shares it; dispose() closes it.
      return { open: async () => ({ ...database, close: async () => {} }) };
    },
    async unreachable() {
      // Not kept for dispose(): it is closed already.
      const database = await openDatabase('pglite://memory');
      await database.close();
      return database;
    },
    async dispose() {
      for (const database of opened.splice(0)) await database.close();
    },
  };
}

/** New databases on the server `url` names, their names starting with `prefix`. */
export async function postgresTarget(url: string, prefix = 'messenger_conf'): Promise<DatabaseTarget> {
  const scratch = await ScratchPostgres.connect(url, prefix);
  return {
    backend: 'postgres',
    async fresh() {
      const databaseUrl = await scratch.create();
      return { open: () => scratch.open(databaseUrl) };
    },
    unreachable: () => scratch.open('postgres://postgres@127.0.0.1:1/x'),
    dispose: () => scratch.dispose(),
  };
}

export async function tableExists(database: Database, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`select to_regclass(${table})::text as found`.execute(
    database.db,
  );
  return rows[0]?.found != null;
}

export async function ledger(database: Database): Promise<Array<{ version: number; copies: number }>> {
  const { rows } = await sql<{ version: number; copies: number }>`
    select version, count(*) as copies from schema_migrations group by version order by version
  `.execute(database.db);
  return rows;
}

export async function insertUser(database: Database, userName: string): Promise<string> {
  const { id } = await database.db
    .insertInto('users')
    .values({ user_name: userName })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

/** One suite's target and its migrated database, set in its `before` hook. */
export interface DatabaseContext {
  readonly target: DatabaseTarget;
  /** Migrated once before the suite; tests use names of their own in it. */
  readonly database: Database;
}

function describeDatabase(open: () => Promise<DatabaseTarget>, body: (ctx: DatabaseContext) => void): void {
  let target: DatabaseTarget | undefined;
  let database: Database | undefined;

  before(async function () {
    this.timeout(60_000);
    target = await open();
    database = await (await target.fresh()).open();
    await migrate(database);
  });

  after(async function () {
    this.timeout(60_000);
    await target?.dispose();
  });

  body({
    get target() {
      if (!target) throw new Error('the database target is not open yet');
      return target;
    },
    get database() {
      if (!database) throw new Error('the database is not open yet');
      return database;
    },
  });
}

const postgres = realService(
  'PostgreSQL',
  'TEST_POSTGRES_URL',
  'postgres://postgres@127.0.0.1:5432/messenger_test',
);

/** Declares `body` under "Database conformance" once on PGlite and once on PostgreSQL. */
export function describeEachDatabase(body: (ctx: DatabaseContext) => void): void {
  describe('Database conformance', () => {
    describe('PGlite (pglite://memory)', () => {
      describeDatabase(async () => pgliteTarget(), body);
    });

    describeRealService('PostgreSQL', postgres, (url) => {
      describeDatabase(async () => {
        if (url === undefined) throw new Error('TEST_POSTGRES_URL is not set');
        return postgresTarget(url);
      }, body);
    });
  });
}

/** A new temporary directory for each test (`dir()`), removed after it. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });

  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  return () => {
    if (!dir) throw new Error('no temporary directory outside a test');
    return dir;
  };
}
