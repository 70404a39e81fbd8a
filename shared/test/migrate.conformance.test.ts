/**
 * Migrations: applying them on PGlite (always) and PostgreSQL (TEST_POSTGRES_URL), at once from two
 * processes, and rolled back on failure; and reading the NNNN_name.sql files. Targets and hooks:
 * support/databases.ts.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { migrate, readMigrations, type Migration } from '../src/db/migrate.ts';
import { describeEachDatabase, ledger, tableExists, useTempDir } from './support/databases.ts';
import { rejectionOf, uniqueTag } from './support/real-services.ts';

describeEachDatabase((ctx) => {
  const tag = uniqueTag();

  describe('migrate', () => {
    it('applies every migration in migrations/ to a new database, and none the second time', async function () {
      this.timeout(60_000);
      const fresh = await (await ctx.target.fresh()).open();
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
      const fresh = await ctx.target.fresh();
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

      const err = await rejectionOf(() => migrate(ctx.database, run));
      expect(err).to.have.property('code', '42P01'); // undefined_table: the error of the broken script
      expect(await tableExists(ctx.database, table(1))).to.equal(false);
      expect(await tableExists(ctx.database, table(2))).to.equal(false);
      const { rows } = await sql<{ version: number }>`
        select version from schema_migrations where version >= 900000`.execute(ctx.database.db);
      expect(rows).to.deep.equal([]);

      // The connection and the lock are free again: a good run goes through.
      expect(await migrate(ctx.database, run.slice(0, 1))).to.deep.equal([900_001]);
      expect(await tableExists(ctx.database, table(1))).to.equal(true);
    });
  });
});

describe('readMigrations', () => {
  const dir = useTempDir('messenger-migrations-');

  async function files(contents: Record<string, string>): Promise<URL> {
    for (const [name, script] of Object.entries(contents)) await writeFile(path.join(dir(), name), script);
    return pathToFileURL(`${dir()}/`);
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
    expect(await readMigrations(pathToFileURL(dir()))).to.deep.equal([
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
