/**
 * What every statement of a search shares: the caller, the room left, the deadline, and the
 * `statement_timeout` that keeps each statement within it.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';

/** A statement cancelled by `statement_timeout`. */
const QUERY_CANCELED = '57014';

export class DeadlinePassed extends Error {}

export interface StageContext {
  userId: string;
  limit: number;
  deadline: number;
  /** Read the caller's messages rather than the GiST index (see SCAN_MAX_MESSAGES). */
  scan: boolean;
  /** The `statement_timeout` last set in this stage's transaction, and when (epoch ms). */
  timeout?: { ms: number; at: number };
}

/**
 * Limits the next statement to the time left; throws when none is left. The limit is set again
 * only once half of the time it allowed has passed: each `set_config` is a round trip (2–6 ms on
 * a busy machine), and a statement then overruns the deadline by at most the time already spent.
 * JIT compilation and parallel workers are turned off with it: a search's statements are short,
 * and at 1M messages (issue 14) a caller's 50,000 messages put the planner's estimate past
 * `jit_above_cost` (compiling took ~11 ms of a 35 ms statement), and the typo candidates of a
 * caller's 40 chats (3.6 ms of work) waited ~150 ms for a parallel worker to start on a busy machine.
 */
export async function bound(trx: Transaction<DB>, ctx: StageContext): Promise<void> {
  const now = Date.now();
  const left = Math.ceil(ctx.deadline - now);
  if (left <= 0) throw new DeadlinePassed();
  if (ctx.timeout && now - ctx.timeout.at < ctx.timeout.ms / 2) return;
  await sql`select set_config('statement_timeout', ${String(left)}, true), set_config('jit', 'off', true),
    set_config('max_parallel_workers_per_gather', '0', true)`.execute(trx);
  ctx.timeout = { ms: left, at: now };
}

export function isTimeout(err: unknown): boolean {
  return (
    err instanceof DeadlinePassed ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === QUERY_CANCELED)
  );
}

/** The ids of the caller's chats, as a subquery. */
export function memberChats(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('chat_members')
    .select('chat_members.chat_id')
    .where('chat_members.user_id', '=', userId);
}
