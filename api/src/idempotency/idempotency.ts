import type { Context as KoaContext } from 'koa';
import type { Transaction } from 'kysely';
import { AppError, type DB, type Logger, type Store } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import { fingerprint, sha256 } from './fingerprint.ts';
import type { IdempotencyRepository, KeyRecord, StoredReply } from './idempotency.repository.ts';

export type { StoredReply } from './idempotency.repository.ts';

/** The key to record, for work that writes the record in its own statement (post-statement.ts). */
export interface KeyToRecord {
  scope: string;
  key: string;
  fingerprint: string;
  ttlSeconds: number;
}

/**
 * Records the request's key and reply with the request's work, so that both commit or neither does.
 * Either the work calls it once, inside its transaction, with the reply it is about to answer (it
 * throws, rolling the transaction back, when a concurrent duplicate has recorded the key first); or
 * the work writes `key` in its own statement and then tells `written` whether it could.
 */
export interface RecordReply {
  (trx: Transaction<DB>, reply: StoredReply): Promise<void>;
  /** What to record; undefined when the request has no Idempotency-Key. */
  readonly key: KeyToRecord | undefined;
  /** The work wrote `key` itself: true, or false when a duplicate had (that throws, as above). */
  written(recorded: boolean): void;
}

/**
 * Runs `work` at most once per `Idempotency-Key` (openapi.yaml, components/parameters/IdempotencyKey).
 * Without the header it just runs `work` (its `record` then does nothing). Handlers wrap their whole
 * work in it and hand `record` down to what stores the messages, with the reply for their ids:
 *
 *     postMessage: ({ actor, params, body, koa }) =>
 *       idempotent(koa, actor, body, async (record) =>
 *         created(await messages.post(…, { record, reply: ([id]) => created(id) })),
 *       ),
 */
export type Idempotent = <R extends StoredReply>(
  koa: KoaContext,
  actor: Actor,
  body: unknown,
  work: (record: RecordReply) => Promise<R>,
) => Promise<R>;

export interface IdempotencyOptions {
  /** How long a success is remembered and replayed (IDEMPOTENCY_TTL_SECONDS). */
  ttlSeconds: number;
  /** How long a claim lives without a result: a process that dies mid-work frees the key after this. */
  claimTtlSeconds?: number;
  /** How long a repeat waits for the first request to finish before answering 409 in-progress. */
  waitMs?: number;
  /** How often a waiting repeat looks for the result. */
  pollMs?: number;
}

/** What the store holds under a key: a claim while the first request runs, then its reply. */
type Entry = { fp: string; state: 'pending' } | { fp: string; state: 'done'; reply: StoredReply };

/** One idempotent request: whose key, which key, and what it asks for. */
interface Attempt {
  scope: string;
  key: string;
  fp: string;
  /** The key's name in the store; `undefined` when the store does not answer. */
  storeKey: string | undefined;
}

const HEADER = 'idempotency-key';
const noRecord: RecordReply = Object.assign(async () => {}, { key: undefined, written: () => {} });

/** A concurrent duplicate recorded the key first: this request's transaction must roll back. */
class KeyTaken extends Error {
  constructor() {
    super('a concurrent request recorded this Idempotency-Key first');
    this.name = 'KeyTaken';
  }
}

/**
 * Idempotent requests, shared by every API instance. PostgreSQL is the record, the store (Redis) the
 * fast path in front of it:
 * - the first request with a key claims it in the store (`setIfAbsent`, so of concurrent duplicates
 *   one wins), looks it up in PostgreSQL (the store may have lost it: flushed, restarted), does the
 *   work, and records key, fingerprint and reply in the transaction that stores the messages; the
 *   primary key (scope, key) lets only one of any duplicates the store let through commit, and the
 *   loser rolls back and answers the winner's reply;
 * - a repeat with the same key, the same caller and the same request (method, path, body) answers
 *   that reply again and does nothing: from the store with no database query, else from PostgreSQL
 *   (which refills the store); with another request, 409 `idempotency-key-reused`;
 * - a repeat while the first still runs waits for its reply (`waitMs`, 5 s), then answers 409
 *   `idempotency-key-in-progress`;
 * - when the work fails nothing is recorded and the claim is dropped, so the client's retry runs it
 *   again: only successes are remembered;
 * - with the store down, PostgreSQL alone decides (duplicates wait on each other's transaction
 *   instead of answering in-progress); a record expires after `ttlSeconds` (24 h) and is never
 *   replayed after that.
 * Keys are per user (their session's user, or `?user_id=` in AUTH_DISABLED mode): two users never
 * see each other's replies.
 */
export function createIdempotency(
  store: Store,
  keys: IdempotencyRepository,
  log: Logger,
  options: IdempotencyOptions,
): Idempotent {
  const { ttlSeconds } = options;
  const claimTtlSeconds = options.claimTtlSeconds ?? 60;
  const waitMs = options.waitMs ?? 5_000;
  const pollMs = options.pollMs ?? 25;
  const warnStoreDown = everyThirtySeconds((err: unknown) =>
    log.warn({ err }, 'the store does not answer: Idempotency-Keys are checked in PostgreSQL alone'),
  );

  /** Claims, waits or replays through the store; falls back on PostgreSQL alone when it fails. */
  async function throughStore<R extends StoredReply>(
    koa: KoaContext,
    attempt: Attempt,
    work: (record: RecordReply) => Promise<R>,
  ): Promise<R> {
    const storeKey = attempt.storeKey!;
    const deadline = Date.now() + waitMs;
    for (;;) {
      let claimed: boolean;
      let raw: string | null = null;
      try {
        const pending: Entry = { fp: attempt.fp, state: 'pending' };
        claimed = await store.setIfAbsent(storeKey, JSON.stringify(pending), claimTtlSeconds);
        if (!claimed) raw = await store.get(storeKey);
      } catch (err) {
        warnStoreDown(err);
        return runOnce(koa, { ...attempt, storeKey: undefined }, work);
      }
      if (claimed) return runOnce(koa, attempt, work);
      // Released (the first attempt failed) or expired since: claim it again.
      if (raw === null) continue;
      const entry = JSON.parse(raw) as Entry;
      if (entry.fp !== attempt.fp) throw reused();
      if (entry.state === 'done') return replay<R>(koa, entry.reply);
      if (Date.now() >= deadline) throw inProgress();
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * The key is this request's (claimed in the store, or the store is down): answer PostgreSQL's
   * record of it, or do the work and record it.
   */
  async function runOnce<R extends StoredReply>(
    koa: KoaContext,
    attempt: Attempt,
    work: (record: RecordReply) => Promise<R>,
  ): Promise<R> {
    let recorded: KeyRecord | undefined;
    try {
      recorded = await keys.find(attempt.scope, attempt.key);
      if (!recorded) {
        let wrote = false;
        const written = (recorded: boolean) => {
          if (!recorded) throw new KeyTaken();
          wrote = true;
        };
        const record: RecordReply = Object.assign(
          async (trx: Transaction<DB>, reply: StoredReply) =>
            written(await keys.insert(trx, attempt.scope, attempt.key, attempt.fp, reply, ttlSeconds)),
          { key: { scope: attempt.scope, key: attempt.key, fingerprint: attempt.fp, ttlSeconds }, written },
        );
        const reply = await work(record);
        if (!wrote) log.error('the work did not record its Idempotency-Key: a retry would run it again');
        await remember(attempt, { fp: attempt.fp, state: 'done', reply: pick(reply) }, ttlSeconds);
        return reply;
      }
    } catch (err) {
      if (!(err instanceof KeyTaken)) {
        await release(attempt);
        throw err;
      }
      // The duplicate that won has committed by now (this insert waited for it): answer its reply.
      recorded = await keys.find(attempt.scope, attempt.key).catch(async (findErr: unknown) => {
        await release(attempt);
        throw findErr;
      });
      if (!recorded) {
        await release(attempt);
        throw inProgress();
      }
    }
    await remember(
      attempt,
      { fp: recorded.fingerprint, state: 'done', reply: recorded.reply },
      recorded.ttlSeconds,
    );
    if (recorded.fingerprint !== attempt.fp) throw reused();
    return replay<R>(koa, recorded.reply);
  }

  /** The store learns the reply, so the next repeat costs no query. The work is done: a failure only logs. */
  async function remember(attempt: Attempt, entry: Entry, ttl: number): Promise<void> {
    if (attempt.storeKey === undefined) return;
    await store
      .set(attempt.storeKey, JSON.stringify(entry), ttl)
      .catch((err: unknown) => log.warn({ err }, 'could not remember an idempotent reply in the store'));
  }

  /** Drops the claim of a request that failed, so that a retry runs again. */
  async function release(attempt: Attempt): Promise<void> {
    if (attempt.storeKey === undefined) return;
    await store
      .del(attempt.storeKey)
      .catch((err: unknown) => log.warn({ err }, 'could not release an idempotency key'));
  }

  return async <R extends StoredReply>(
    koa: KoaContext,
    actor: Actor,
    body: unknown,
    work: (record: RecordReply) => Promise<R>,
  ): Promise<R> => {
    const key = koa.get(HEADER);
    if (!key) return work(noRecord);
    // Whose keys these are: a key of one user never answers another.
    const scope = actor.scope;
    const attempt: Attempt = {
      scope,
      key,
      fp: fingerprint(koa.method, koa.path, body),
      storeKey: storeKey(scope, key),
    };
    return throughStore(koa, attempt, work);
  };
}

function replay<R extends StoredReply>(koa: KoaContext, reply: StoredReply): R {
  koa.set('Idempotent-Replayed', 'true');
  return reply as R;
}

/** Of a handler's reply, what a replay answers: its status and body. */
function pick(reply: StoredReply): StoredReply {
  return { status: reply.status, body: reply.body };
}

const reused = () =>
  new AppError(
    'idempotency-key-reused',
    'this Idempotency-Key was used for another request: use a new key for a new message',
  );
const inProgress = () =>
  new AppError(
    'idempotency-key-in-progress',
    'a request with this Idempotency-Key is still running: retry in a moment',
  );

/** Hashed, so a key of any characters and length makes a short, safe store key. */
function storeKey(scope: string, idempotencyKey: string): string {
  return `idempotency:${sha256(`${scope}\n${idempotencyKey}`)}`;
}

/** A logger call that runs at most once every 30 s: an outage must not write a line per request. */
function everyThirtySeconds<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let last = 0;
  return (...args) => {
    if (Date.now() - last < 30_000) return;
    last = Date.now();
    fn(...args);
  };
}
