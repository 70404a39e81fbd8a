/**
 * `npx tsx bench/search-migration.ts`: how long the search migrations after 0010 take on a database
 * that already holds many messages (0011 makes every message's vector again and counts every token
 * per chat). A database of its own is migrated to 0010, seeded as the 1M run of bench-search seeds
 * it, and then migrated to the end by the runner `make migrate` uses (no client-side timeouts),
 * under a database-level `statement_timeout` such as a production server may set.
 *
 * Options (environment): BENCH_POSTGRES_URL (server, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_SCALE_MESSAGES (default 1000000), BENCH_SCALE_CHATS (default 2000),
 * BENCH_STATEMENT_TIMEOUT (the database's statement_timeout, default 1500ms, the API's default).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectDatabase, loadConfig, migrate, readMigrations, withTimeouts } from '@messenger/shared';
import { seedScale } from './search-scale.ts';
import { createDatabase, dropDatabase } from './setup.ts';

const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const messages = Number(process.env.BENCH_SCALE_MESSAGES ?? 1_000_000);
const chats = Number(process.env.BENCH_SCALE_CHATS ?? 2_000);
const statementTimeout = process.env.BENCH_STATEMENT_TIMEOUT ?? '1500ms';
const BEFORE = 10;

const id = randomBytes(4).toString('hex');
const name = `messenger_bench_migration_${id}`;
const url = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
/** What `make migrate` connects with: no statement or query timeout of its own. */
const unbounded = withTimeouts(loadConfig({ ...process.env, DATABASE_URL: url }), {
  statementTimeoutMs: 0,
  queryTimeoutMs: 0,
});

async function main(): Promise<void> {
  await createDatabase(server, name);
  try {
    const all = await readMigrations();
    const early = await connectDatabase(unbounded);
    try {
      await migrate(
        early,
        all.filter((m) => m.version <= BEFORE),
      );
    } finally {
      await early.close();
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const seeded = Date.now();
      const caller = await client.query<{ id: string }>(
        `insert into users (user_name) values ('migration-caller') returning id`,
      );
      await seedScale(
        client,
        caller.rows[0]!.id,
        { messages, chats, memberChats: 40, authors: 500 },
        `m${id}`,
      );
      console.log(
        `seeded ${messages} messages in ${chats} chats at ${BEFORE} in ${Math.round((Date.now() - seeded) / 1000)} s`,
      );
      await client.query(
        `alter database "${name}" set statement_timeout = '${statementTimeout.replace(/'/g, '')}'`,
      );
    } finally {
      await client.end();
    }

    // A new connection, so that it has the database's statement_timeout.
    const late = await connectDatabase(unbounded);
    try {
      const started = Date.now();
      const applied = await migrate(late, all);
      console.log(
        `applied ${applied.join(', ')} under statement_timeout ${statementTimeout} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      const counted = await late.db
        .selectFrom('search_chat_words')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      console.log(`search_chat_words: ${counted.n} rows`);
    } finally {
      await late.close();
    }
  } finally {
    await dropDatabase(server, name);
  }
}

await main();
