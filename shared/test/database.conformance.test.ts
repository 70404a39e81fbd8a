/**
 * One conformance suite for the Database interface, run against PGlite (always) and PostgreSQL
 * (TEST_POSTGRES_URL). Each PostgreSQL run works in databases of its own, created here and dropped
 * afterwards, so parallel runs and other test files never see each other's rows.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { connectDatabase, type Database } from '../src/db/connect.ts';
import { migrate, readMigrations, type Migration } from '../src/db/migrate.ts';
import { describeRealService, realService, rejectionOf, uniqueTag } from './support/real-services.ts';
import { ScratchPostgres } from './support/scratch-postgres.ts';

/** A new, empty database. */
interface FreshDatabase {
  /** Another handle onto it: its own pool where the backend has pools, the one instance for PGlite. */
  open(): Promise<Database>;
}

interface DatabaseTarget {
  readonly backend: Database['backend'];
  fresh(): Promise<FreshDatabase>;
  /** A Database whose server does not answer. */
  unreachable(): Promise<Database>;
  /** Closes every handle and drops every database this target made. */
  dispose(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function openDatabase(url: string): Promise<Database> {
  return connectDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }));
}

function pgliteTarget(): DatabaseTarget {
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

async function postgresTarget(url: string): Promise<DatabaseTarget> {
  const scratch = await ScratchPostgres.connect(url, 'messenger_conf');
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

async function tableExists(database: Database, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`select to_regclass(${table})::text as found`.execute(
    database.db,
  );
  return rows[0]?.found != null;
}

async function ledger(database: Database): Promise<Array<{ version: number; copies: number }>> {
  const { rows } = await sql<{ version: number; copies: number }>`
    select version, count(*) as copies from schema_migrations group by version order by version
  `.execute(database.db);
  return rows;
}

async function insertUser(database: Database, userName: string): Promise<string> {
  const { id } = await database.db
    .insertInto('users')
    .values({ user_name: userName })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

function describeDatabase(open: () => Promise<DatabaseTarget>): void {
  let target: DatabaseTarget | undefined;
  /** Migrated once in `before`; tests use names of their own in it. */
  let database: Database;
  const tag = uniqueTag();
  const unique = (name: string): string => `${name}-${tag}`;

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

  it('names its backend', () => {
    expect(database.backend).to.equal(target?.backend);
  });

  describe('migrate', () => {
    it('applies every migration in migrations/ to a new database, and none the second time', async function () {
      this.timeout(60_000);
      const fresh = await (await target!.fresh()).open();
      const versions = (await readMigrations()).map((m) => m.version);
      expect(versions).to.have.length.above(0);

      expect(await migrate(fresh)).to.deep.equal(versions);
      expect(await ledger(fresh)).to.deep.equal(versions.map((version) => ({ version, copies: 1 })));
      for (const table of ['users', 'sessions', 'chats', 'chat_members', 'messages']) {
        expect(await tableExists(fresh, table), table).to.equal(true);
      }

      expect(await migrate(fresh)).to.deep.equal([]);
      expect(await ledger(fresh)).to.deep.equal(versions.map((version) => ({ version, copies: 1 })));
    });

    it('lets two processes migrate at once: both succeed and each version is applied once', async function () {
      this.timeout(60_000);
      const fresh = await target!.fresh();
      const [a, b] = await Promise.all([fresh.open(), fresh.open()]);
      const versions = (await readMigrations()).map((m) => m.version);

      const results = await Promise.all([migrate(a), migrate(b)]);

      // One of them applied everything while the other waited on the lock, then found nothing to do.
      expect(results).to.deep.include(versions);
      expect(results).to.deep.include([]);
      expect(await ledger(a)).to.deep.equal(versions.map((version) => ({ version, copies: 1 })));
    });

    it('rolls back the whole run when one migration fails: no ledger row, no table', async () => {
      const table = (n: number): string => `conf_rollback_${n}_${tag}`;
      const run: Migration[] = [
        { version: 900_001, name: 'good', script: `create table ${table(1)} (id int primary key);` },
        {
          version: 900_002,
          name: 'broken',
          script: `create table ${table(2)} (id int); insert into conf_no_such_table_${tag} values (1);`,
        },
      ];

      const err = await rejectionOf(() => migrate(database, run));
      expect(err).to.have.property('code', '42P01'); // undefined_table: the error of the broken script
      expect(await tableExists(database, table(1))).to.equal(false);
      expect(await tableExists(database, table(2))).to.equal(false);
      const { rows } = await sql<{ version: number }>`
        select version from schema_migrations where version >= 900000`.execute(database.db);
      expect(rows).to.deep.equal([]);

      // The connection and the lock are free again: a good run goes through.
      expect(await migrate(database, run.slice(0, 1))).to.deep.equal([900_001]);
      expect(await tableExists(database, table(1))).to.equal(true);
    });
  });

  describe('queries', () => {
    it('returns int8 (count(*), bigint columns) as JavaScript numbers', async () => {
      const userId = await insertUser(database, unique('int8'));
      const { id: chatId } = await database.db
        .insertInto('chats')
        .values({ chat_name: 'int8', created_by: userId, last_message_seq: 2 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await database.db
        .insertInto('messages')
        .values([
          { chat_id: chatId, seq: 1, user_id: userId, text: 'one' },
          { chat_id: chatId, seq: 2, user_id: userId, text: 'two' },
        ])
        .execute();

      const counted = await database.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('chat_id', '=', chatId)
        .executeTakeFirstOrThrow();
      expect(counted.n).to.equal(2);

      const chat = await database.db
        .selectFrom('chats')
        .select('last_message_seq')
        .where('id', '=', chatId)
        .executeTakeFirstOrThrow();
      expect(chat.last_message_seq).to.equal(2);

      const seqs = await database.db
        .selectFrom('messages')
        .select('seq')
        .where('chat_id', '=', chatId)
        .orderBy('seq')
        .execute();
      expect(seqs).to.deep.equal([{ seq: 1 }, { seq: 2 }]);

      const { rows } = await sql<{ big: number }>`select ${2 ** 40}::int8 * 2 as big`.execute(database.db);
      expect(rows).to.deep.equal([{ big: 2 ** 41 }]);
    });

    it('leaves nothing behind when a transaction throws', async () => {
      const userName = unique('rolled-back');
      const boom = new Error('boom');
      let seenInside = -1;

      const err = await rejectionOf(() =>
        database.db.transaction().execute(async (trx) => {
          await trx.insertInto('users').values({ user_name: userName }).execute();
          const inside = await trx
            .selectFrom('users')
            .select('id')
            .where('user_name', '=', userName)
            .execute();
          seenInside = inside.length;
          throw boom;
        }),
      );

      expect(err).to.equal(boom);
      expect(seenInside).to.equal(1);
      const after = await database.db
        .selectFrom('users')
        .select('id')
        .where('user_name', '=', userName)
        .execute();
      expect(after).to.deep.equal([]);
    });

    it('rejects a second user with the same user_name (unique index users_user_name_key)', async () => {
      const userName = unique('taken');
      await insertUser(database, userName);

      const err = await rejectionOf(() => insertUser(database, userName));

      expect(err).to.include({ code: '23505', constraint: 'users_user_name_key' });
      const rows = await database.db
        .selectFrom('users')
        .select('id')
        .where('user_name', '=', userName)
        .execute();
      expect(rows).to.have.length(1);
    });

    it('gives rows gen_random_uuid() ids', async () => {
      const a = await insertUser(database, unique('uuid-a'));
      const b = await insertUser(database, unique('uuid-b'));
      expect(a).to.match(UUID);
      expect(b).to.match(UUID);
      expect(a).not.to.equal(b);
      const { rows } = await sql<{ id: string }>`select gen_random_uuid() as id`.execute(database.db);
      expect(rows[0]?.id).to.match(UUID);
    });

    it('pages history by the index messages_chat_id_seq_key', async function () {
      this.timeout(60_000);
      const userId = await insertUser(database, unique('history'));
      const chats = await database.db
        .insertInto('chats')
        .values(Array.from({ length: 50 }, (_, i) => ({ chat_name: `history ${i}`, created_by: userId })))
        .returning('id')
        .execute();
      // 50 chats x 100 messages: enough that an honest planner prefers the index for one chat's page.
      await sql`
        insert into messages (chat_id, seq, user_id, text)
        select c.id, s, ${userId}, 'message ' || s
        from chats c cross join generate_series(1, 100) s
        where c.created_by = ${userId}
      `.execute(database.db);
      await sql`analyze messages`.execute(database.db);
      const chatId = chats[17]!.id;

      const { rows } = await sql<Record<string, string>>`
        explain select id, chat_id, seq, user_id, text, created_at
        from messages where chat_id = ${chatId} and seq > ${10}
        order by seq limit 50
      `.execute(database.db);
      const plan = rows.map((row) => Object.values(row).join('')).join('\n');

      expect(plan).to.include('messages_chat_id_seq_key');
      expect(plan).not.to.include('Seq Scan');

      // and the page it plans is the right one
      const page = await database.db
        .selectFrom('messages')
        .select('seq')
        .where('chat_id', '=', chatId)
        .where('seq', '>', 10)
        .orderBy('seq')
        .limit(50)
        .execute();
      expect(page.map((m) => m.seq)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 11));
    });
  });

  describe('ping', () => {
    it('answers true for a live database', async () => {
      expect(await database.ping(2_000)).to.equal(true);
    });

    it('answers false, within its timeout, for a database that does not answer', async function () {
      this.timeout(60_000);
      const dead = await target!.unreachable();
      const started = Date.now();
      expect(await dead.ping(1_000)).to.equal(false);
      expect(Date.now() - started).to.be.below(1_500);
    });
  });
}

describe('Database conformance', () => {
  describe('PGlite (pglite://memory)', () => {
    describeDatabase(async () => pgliteTarget());
  });

  const postgres = realService(
    'PostgreSQL',
    'TEST_POSTGRES_URL',
    'postgres://postgres@127.0.0.1:5432/messenger_test',
  );
  describeRealService('PostgreSQL', postgres, (url) => {
    describeDatabase(async () => {
      if (url === undefined) throw new Error('TEST_POSTGRES_URL is not set');
      return postgresTarget(url);
    });
  });
});

describe('PGlite on disk (pglite://<dir>)', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'messenger-pglite-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps its data when closed and opened again', async function () {
    this.timeout(60_000);
    const url = `pglite://${dir}/db`;
    const first = await openDatabase(url);
    try {
      expect(first.backend).to.equal('pglite');
      await migrate(first);
      await insertUser(first, 'kept-on-disk');
    } finally {
      await first.close();
    }

    const second = await openDatabase(url);
    try {
      expect(await migrate(second)).to.deep.equal([]);
      const rows = await second.db.selectFrom('users').select('user_name').execute();
      expect(rows).to.deep.equal([{ user_name: 'kept-on-disk' }]);
    } finally {
      await second.close();
    }
  });
});

describe('readMigrations', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'messenger-migrations-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function files(contents: Record<string, string>): Promise<URL> {
    for (const [name, script] of Object.entries(contents)) await writeFile(path.join(dir, name), script);
    return pathToFileURL(`${dir}/`);
  }

  it("reads the repository's migrations in order, starting with 0001_initial", async () => {
    const migrations = await readMigrations();
    expect(migrations[0]).to.include({ version: 1, name: 'initial' });
    expect(migrations[0]?.script).to.include('create table users');
    const versions = migrations.map((m) => m.version);
    expect(versions).to.deep.equal([...versions].sort((a, b) => a - b));
  });

  it('reads NNNN_name.sql files with their scripts and ignores other files', async () => {
    const dirUrl = await files({
      '0002_second.sql': 'select 2;',
      '0001_first-one.sql': 'select 1;',
      'README.md': 'not a migration',
    });
    expect(await readMigrations(dirUrl)).to.deep.equal([
      { version: 1, name: 'first-one', script: 'select 1;' },
      { version: 2, name: 'second', script: 'select 2;' },
    ]);
  });

  it('orders by number, not by file name', async () => {
    const dirUrl = await files({ '10_ten.sql': 'select 10;', '9_nine.sql': 'select 9;', '1_one.sql': '' });
    expect((await readMigrations(dirUrl)).map((m) => m.version)).to.deep.equal([1, 9, 10]);
  });

  it('reads a folder URL given without a trailing slash', async () => {
    await files({ '0001_only.sql': 'select 1;' });
    expect(await readMigrations(pathToFileURL(dir))).to.deep.equal([
      { version: 1, name: 'only', script: 'select 1;' },
    ]);
  });

  for (const bad of ['0003-dash.sql', 'initial.sql', '0003_has space.sql', '0003_.sql']) {
    it(`rejects the file name ${bad}`, async () => {
      const dirUrl = await files({ '0001_ok.sql': 'select 1;', [bad]: 'select 3;' });
      const err = await rejectionOf(() => readMigrations(dirUrl));
      expect(err.message).to.include('NNNN_name.sql').and.include(bad);
    });
  }

  for (const [a, b] of [
    ['0002_a.sql', '0002_b.sql'],
    ['0002_a.sql', '002_b.sql'],
  ] as const) {
    it(`rejects two migrations with one number (${a}, ${b})`, async () => {
      const dirUrl = await files({ '0001_ok.sql': '', [a]: '', [b]: '' });
      const err = await rejectionOf(() => readMigrations(dirUrl));
      expect(err.message).to.equal('two migrations numbered 2');
    });
  }
});
