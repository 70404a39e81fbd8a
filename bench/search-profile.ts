/**
 * `npx tsx bench/search-profile.ts`: where a search spends its time, statement by statement, on a
 * database that `make bench-search` kept (BENCH_KEEP_DATABASE=1). SearchRepository is called
 * directly (no API, queue or store), so the figures are the database's share of the end-to-end time.
 *
 * Options (environment): BENCH_DATABASE (required: the kept database's name), BENCH_POSTGRES_URL
 * (server, default postgres://postgres@127.0.0.1:5432/postgres), BENCH_CALLER (default bench-scale),
 * BENCH_PHRASES (comma-separated; default the scale run's classes), BENCH_ROUNDS (default 8),
 * BENCH_EXPLAIN=1 (also EXPLAIN (ANALYZE, BUFFERS) every statement of each phrase's last search).
 */
import { CompiledQuery, Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import type { DB } from '@messenger/shared';
import { SearchRepository } from '../consumer/src/search/search.repository.ts';
import { SCALE_CLASSES } from './search-scale.ts';

const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = process.env.BENCH_DATABASE;
if (!name) throw new Error('BENCH_DATABASE names the database a kept bench-search run left');
const caller = process.env.BENCH_CALLER ?? 'bench-scale';
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const explain = process.env.BENCH_EXPLAIN === '1';
const classes: Array<[string, string[]]> = process.env.BENCH_PHRASES
  ? [['given', process.env.BENCH_PHRASES.split(',')]]
  : SCALE_CLASSES;

interface Ran {
  query: CompiledQuery;
  ms: number;
}

const url = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
const pool = new pg.Pool({ connectionString: url, max: 2 });
let ran: Ran[] = [];
const db = new Kysely<DB>({
  dialect: new PostgresDialect({ pool }),
  log: (event: LogEvent) => {
    if (event.level === 'query') ran.push({ query: event.query, ms: event.queryDurationMillis });
  },
});
const fmt = (ms: number) => ms.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const label = (q: CompiledQuery) => q.sql.replace(/\s+/g, ' ').trim().slice(0, 90);

try {
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('user_name', '=', caller)
    .executeTakeFirstOrThrow();
  const repository = new SearchRepository(db);
  for (const [cls, phrases] of classes) {
    for (const phrase of phrases) {
      const search = () =>
        repository.search({ userId: user.id, phrase, limit: 100, deadline: Date.now() + 5000 });
      await search();
      const totals: number[] = [];
      const perStatement: number[][] = [];
      let last: Ran[] = [];
      let results = 0;
      for (let i = 0; i < rounds; i++) {
        ran = [];
        const started = performance.now();
        results = (await search()).results.length;
        totals.push(performance.now() - started);
        ran.forEach((r, k) => (perStatement[k] ??= []).push(r.ms));
        last = ran;
      }
      console.log(
        `\n${cls} "${phrase}": ${results} results, median ${fmt(median(totals))} ms, ${last.length} statements`,
      );
      last.forEach((r, k) =>
        console.log(`  ${fmt(median(perStatement[k] ?? [r.ms])).padStart(6)} ms  ${label(r.query)}`),
      );
      if (explain) await explainAll(last.map((r) => r.query));
    }
  }
} finally {
  await db.destroy();
}

/** EXPLAIN (ANALYZE, BUFFERS) of each statement, in one transaction, after the settings before it. */
async function explainAll(queries: CompiledQuery[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const q of queries) {
      if (/^\s*(begin|commit|rollback)/i.test(q.sql)) continue;
      if (/set_config/.test(q.sql)) {
        await trx.executeQuery(q);
        continue;
      }
      const { rows } = await trx.executeQuery<Record<string, string>>(
        CompiledQuery.raw(`explain (analyze, buffers) ${q.sql}`, [...q.parameters]),
      );
      console.log(`\n--- ${label(q)}\n${rows.map((r) => Object.values(r)[0]).join('\n')}`);
    }
  });
}
