/**
 * shared/src/db/schema.ts is kept in step with migrations/ by hand. This compares the two: the
 * tables and columns of the DB type against the migrated database, as Kysely's introspection sees
 * it, on PGlite (always) and PostgreSQL (TEST_POSTGRES_URL, in a database of its own).
 *
 * A TypeScript type has no run-time form, so COLUMNS below restates it as a value, and `satisfies`
 * ties the two together at compile time (`npm run typecheck`): a table or column missing from
 * COLUMNS, one the type does not have, or a nullability that differs from the type's, fails to
 * compile. The tests then compare COLUMNS with the database.
 */
import { expect } from 'chai';
import type { InsertType, SelectType, TableMetadata } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { connectDatabase, type Database } from '../src/db/connect.ts';
import { migrate } from '../src/db/migrate.ts';
import type { DB } from '../src/db/schema.ts';
import { describeRealService, realService } from './support/real-services.ts';
import { ScratchPostgres } from './support/scratch-postgres.ts';

/**
 * What the type says of a column: whether a select may answer null, and whether an insert may leave
 * it out (then the database must fill it in: a default, a generated column, or null).
 */
type ColumnShape<C> =
  `${null extends SelectType<C> ? 'nullable' : 'not null'}${undefined extends InsertType<C> ? ', optional on insert' : ''}`;

type Shapes = { readonly [T in keyof DB]: { readonly [C in keyof DB[T]]-?: ColumnShape<DB[T][C]> } };

const COLUMNS = {
  users: {
    id: 'not null, optional on insert',
    user_name: 'not null',
    name_key: 'nullable, optional on insert',
    password_hash: 'nullable',
    display_name: 'nullable',
    created_at: 'not null, optional on insert',
  },
  sessions: {
    id: 'not null, optional on insert',
    user_id: 'not null',
    token_hash: 'not null',
    user_agent: 'nullable',
    created_at: 'not null, optional on insert',
    last_seen_at: 'not null, optional on insert',
    ended_at: 'nullable, optional on insert',
    end_reason: 'nullable',
  },
  chats: {
    id: 'not null, optional on insert',
    chat_name: 'not null',
    kind: 'not null, optional on insert',
    created_by: 'nullable',
    created_at: 'not null, optional on insert',
    last_message_seq: 'not null, optional on insert',
    last_message_at: 'nullable, optional on insert',
    direct_key: 'nullable, optional on insert',
  },
  chat_members: {
    chat_id: 'not null',
    user_id: 'not null',
    role: 'not null, optional on insert',
    joined_at: 'not null, optional on insert',
  },
  messages: {
    id: 'not null, optional on insert',
    chat_id: 'not null',
    seq: 'not null',
    user_id: 'not null',
    text: 'not null',
    created_at: 'not null, optional on insert',
    edited_at: 'nullable, optional on insert',
    attachments: 'not null, optional on insert',
    // Written by the database only (`generated always as`): the type forbids inserting it at all.
    search_vector: 'not null',
  },
  search_words: {
    word: 'not null',
  },
  idempotency_keys: {
    scope: 'not null',
    key: 'not null',
    fingerprint: 'not null',
    status: 'not null',
    // Typed `unknown` (any JSON), which includes null; the column is nullable too.
    body: 'nullable',
    created_at: 'not null, optional on insert',
    expires_at: 'not null',
  },
} as const satisfies Shapes;

/** Tables the migrations make that the DB type leaves out on purpose. */
const NOT_IN_TYPE = [
  // The migrations' ledger, created and read by shared/src/db/migrate.ts in raw SQL only.
  'schema_migrations',
];

/**
 * Columns the database declares nullable that never hold null, so the type says `not null`. A
 * generated column is nullable in the catalog unless declared otherwise.
 */
const NEVER_NULL: readonly string[] = [
  // Generated from `text`, which is not null; to_tsvector, setweight and || answer null only for null.
  'messages.search_vector',
];

const TYPED_TABLES = Object.keys(COLUMNS) as (keyof DB)[];

function describeSchema(open: () => Promise<{ database: Database; dispose(): Promise<void> }>): void {
  let tables: Map<string, TableMetadata>;
  let dispose: (() => Promise<void>) | undefined;

  before(async function () {
    this.timeout(60_000);
    const opened = await open();
    dispose = () => opened.dispose();
    await migrate(opened.database);
    const found = await opened.database.db.introspection.getTables();
    tables = new Map(found.map((t) => [t.name, t]));
  });

  after(async function () {
    await dispose?.();
  });

  it('has every table of the DB type, and no other but the migrations ledger', () => {
    expect([...tables.keys()].sort()).to.deep.equal([...TYPED_TABLES, ...NOT_IN_TYPE].sort());
    for (const table of tables.values()) {
      expect({ table: table.name, schema: table.schema, isView: table.isView }).to.deep.equal({
        table: table.name,
        schema: 'public',
        isView: false,
      });
    }
  });

  it('has exactly the columns of the DB type in each table', () => {
    for (const name of TYPED_TABLES) {
      const columns = tables.get(name)?.columns.map((c) => c.name) ?? [];
      expect({ table: name, columns: columns.sort() }).to.deep.equal({
        table: name,
        columns: Object.keys(COLUMNS[name]).sort(),
      });
    }
  });

  it('allows null in exactly the columns the DB type says may be null (and those in NEVER_NULL)', () => {
    for (const name of TYPED_TABLES) {
      for (const [column, shape] of Object.entries(COLUMNS[name])) {
        const found = tables.get(name)?.columns.find((c) => c.name === column);
        expect({ column: `${name}.${column}`, nullable: found?.isNullable }).to.deep.equal({
          column: `${name}.${column}`,
          nullable: shape.startsWith('nullable') || NEVER_NULL.includes(`${name}.${column}`),
        });
      }
    }
  });

  it('fills in every column the DB type lets an insert leave out (a default, or null)', () => {
    for (const name of TYPED_TABLES) {
      for (const [column, shape] of Object.entries(COLUMNS[name])) {
        if (!shape.endsWith('optional on insert')) continue;
        const found = tables.get(name)?.columns.find((c) => c.name === column);
        expect({
          column: `${name}.${column}`,
          filled: found?.hasDefaultValue || found?.isNullable,
        }).to.deep.equal({
          column: `${name}.${column}`,
          filled: true,
        });
      }
    }
  });
}

function openDatabase(url: string): Promise<Database> {
  return connectDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '2' }));
}

describe('schema.ts against the migrated database', () => {
  describe('PGlite (pglite://memory)', () => {
    describeSchema(async () => {
      const database = await openDatabase('pglite://memory');
      return { database, dispose: () => database.close() };
    });
  });

  const postgres = realService(
    'PostgreSQL',
    'TEST_POSTGRES_URL',
    'postgres://postgres@127.0.0.1:5432/messenger_test',
  );
  describeRealService('PostgreSQL', postgres, (url) => {
    describeSchema(async () => {
      if (url === undefined) throw new Error('TEST_POSTGRES_URL is not set');
      const scratch = await ScratchPostgres.connect(url, 'messenger_schema');
      try {
        const database = await scratch.open(await scratch.create());
        return { database, dispose: () => scratch.dispose() };
      } catch (err) {
        await scratch.dispose();
        throw err;
      }
    });
  });
});
