/**
 * The ceilings for posting, through `pg` with the API's pool size and the bench's concurrency, to the
 * same chats the send scenarios write to. No HTTP, no auth, no membership check: what is left between
 * these and the send scenarios is the API's own cost.
 * - `post`: the statement the API's post runs (api/src/messages/post-statement.ts, imported, not
 *   copied), one post per statement: no group commit.
 * - `locked-transaction`: the post as a transaction of 4 round trips (BEGIN; UPDATE chats … RETURNING
 *   to take the seq under the chat's row lock; INSERT; COMMIT), as the API posted before: the ceiling
 *   a busy chat had while each post waited for the previous one's commit.
 * - `single-insert`: one row into a table of the same shape without the per-chat seq (autocommit):
 *   what PostgreSQL does per row at all.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { POST_STATEMENT, postParameters } from '../../api/src/messages/post-statement.ts';
import type { LoadResult } from '../report.ts';
import { percentile } from '../report.ts';

export interface InsertTarget {
  readonly chatId: string;
  readonly userId: string;
}

export type PgInsertMode = 'post' | 'locked-transaction' | 'single-insert';

export interface PgInsertOptions {
  readonly mode: PgInsertMode;
  readonly databaseUrl: string;
  readonly poolSize: number;
  /** workers issuing transactions back to back, like autocannon's connections */
  readonly concurrency: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /** worker i writes to targets[i % length], as connection i of the send scenario does */
  readonly targets: readonly InsertTarget[];
  readonly text: (worker: number) => string;
}

const BUMP_SEQ =
  'update "chats" set "last_message_seq" = "last_message_seq" + $1, "last_message_at" = $2 where "id" = $3 returning "last_message_seq"';
const INSERT =
  'insert into "messages" ("chat_id", "seq", "user_id", "text") values ($1, $2, $3, $4) returning "id", "seq"';

const SINGLE_TABLE = 'bench_single_insert';
const SINGLE_INSERT = `insert into ${SINGLE_TABLE} (chat_id, user_id, text) values ($1, $2, $3)`;

async function singleInsert(pool: pg.Pool, target: InsertTarget, text: string): Promise<void> {
  await pool.query(SINGLE_INSERT, [target.chatId, target.userId, text]);
}

async function post(pool: pg.Pool, target: InsertTarget, text: string): Promise<void> {
  const one = { id: randomUUID(), chatId: target.chatId, userId: target.userId, text, attachments: [] };
  const result = await pool.query<{ stored: boolean }>(POST_STATEMENT, postParameters([one]));
  if (!result.rows[0]?.stored) throw new Error(`chat ${target.chatId} is gone`);
}

async function lockedTransaction(pool: pg.Pool, target: InsertTarget, text: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    try {
      const chat = await client.query<{ last_message_seq: string }>(BUMP_SEQ, [1, new Date(), target.chatId]);
      const row = chat.rows[0];
      if (!row) throw new Error(`chat ${target.chatId} is gone`);
      await client.query(INSERT, [target.chatId, Number(row.last_message_seq), target.userId, text]);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
  } finally {
    client.release();
  }
}

const WRITES = { post, 'locked-transaction': lockedTransaction, 'single-insert': singleInsert };

/**
 * `concurrency` workers issue transactions back to back for warm-up + duration; only those that
 * finish inside the measured window count (as in the HTTP runs).
 */
export async function runPgInsertBaseline(options: PgInsertOptions): Promise<LoadResult> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  pool.on('error', () => {});
  const write = WRITES[options.mode];
  if (options.mode === 'single-insert') {
    await pool.query(
      `create table if not exists ${SINGLE_TABLE} (id bigserial primary key, chat_id uuid not null, ` +
        `user_id uuid not null, text text not null, created_at timestamptz not null default now())`,
    );
  }
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const windowStart = performance.now() + options.warmupSec * 1000;
  const end = windowStart + options.durationSec * 1000;

  const worker = async (i: number): Promise<void> => {
    const target = options.targets[i % options.targets.length];
    if (!target) throw new Error('pg-insert baseline: no targets');
    const text = options.text(i);
    while (performance.now() < end) {
      const started = performance.now();
      try {
        await write(pool, target, text);
        if (performance.now() >= windowStart) latencies.push(performance.now() - started);
      } catch (err) {
        if (performance.now() >= windowStart) errors += 1;
        firstError ??= String(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  } finally {
    if (options.mode === 'single-insert')
      await pool.query(`drop table if exists ${SINGLE_TABLE}`).catch(() => {});
    await pool.end();
  }
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    errors,
    seconds: (performance.now() - windowStart) / 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...(firstError ? { firstError } : {}),
  };
}
