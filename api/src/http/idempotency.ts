import { createHash } from 'node:crypto';
import type { Context as KoaContext } from 'koa';
import { AppError, type Logger, type Store } from '@messenger/shared';
import type { Caller } from '../auth/caller.ts';

/** A reply a handler returns (openapi.yaml's documented success): what a replay answers again. */
export interface StoredReply {
  status: number;
  body: unknown;
}

/**
 * Runs `work` at most once per `Idempotency-Key` (openapi.yaml, components/parameters/IdempotencyKey).
 * Without the header it just runs `work`. Handlers wrap their whole work in it:
 *
 *     postMessage: ({ caller, params, body, koa }) =>
 *       idempotent(koa, caller, body, async () => ({ status: 201, body: { message_id: await … } })),
 */
export type Idempotent = <R extends StoredReply>(
  koa: KoaContext,
  caller: Caller,
  body: unknown,
  work: () => Promise<R>,
) => Promise<R>;

export interface IdempotencyOptions {
  /** How long a success is remembered and replayed. */
  ttlSeconds?: number;
  /** How long a claim lives without a result: a process that dies mid-work frees the key after this. */
  claimTtlSeconds?: number;
  /** How long a repeat waits for the first request to finish before answering 409 in-progress. */
  waitMs?: number;
  /** How often a waiting repeat looks for the result. */
  pollMs?: number;
}

/** What the store holds under a key: a claim while the first request runs, then its reply. */
type Entry = { fp: string; state: 'pending' } | { fp: string; state: 'done'; reply: StoredReply };

const HEADER = 'idempotency-key';

/**
 * Idempotent requests, shared by every API instance through the store (Redis):
 * - the first request with a key claims it (`setIfAbsent`, so of concurrent duplicates exactly one
 *   wins), does the work, and stores its reply for 24 h;
 * - a repeat with the same key, the same caller and the same request (method, path, body) answers
 *   that reply again and does nothing; with another request, 409 `idempotency-key-reused`;
 * - a repeat while the first still runs waits for its reply (`waitMs`, 5 s), then answers 409
 *   `idempotency-key-in-progress`;
 * - when the work fails the claim is dropped, so the client's retry runs it again: only successes
 *   are remembered.
 * Keys are per user (their session's user, or `?user_id=` in AUTH_DISABLED mode): two users never
 * see each other's replies. A store that does not answer fails the request (503) rather than risk a
 * duplicate.
 */
export function createIdempotency(store: Store, log: Logger, options: IdempotencyOptions = {}): Idempotent {
  const ttlSeconds = options.ttlSeconds ?? 24 * 3600;
  const claimTtlSeconds = options.claimTtlSeconds ?? 60;
  const waitMs = options.waitMs ?? 5_000;
  const pollMs = options.pollMs ?? 25;

  return async <R extends StoredReply>(
    koa: KoaContext,
    caller: Caller,
    body: unknown,
    work: () => Promise<R>,
  ): Promise<R> => {
    const idempotencyKey = koa.get(HEADER);
    if (!idempotencyKey) return work();
    const key = storeKey(scopeOf(koa, caller), idempotencyKey);
    const fp = fingerprint(koa.method, koa.path, body);
    const deadline = Date.now() + waitMs;

    for (;;) {
      if (await store.setIfAbsent(key, JSON.stringify({ fp, state: 'pending' }), claimTtlSeconds)) {
        let reply: R;
        try {
          reply = await work();
        } catch (err) {
          await store
            .del(key)
            .catch((e: unknown) => log.warn({ err: e }, 'could not release an idempotency key'));
          throw err;
        }
        const entry: Entry = { fp, state: 'done', reply: { status: reply.status, body: reply.body } };
        // The work is done: a store that fails now must not turn the success into an error.
        await store
          .set(key, JSON.stringify(entry), ttlSeconds)
          .catch((err: unknown) => log.error({ err }, 'could not remember an idempotent reply'));
        return reply;
      }

      const raw = await store.get(key);
      // Released (the first attempt failed) or expired since: claim it again.
      if (raw === null) continue;
      const entry = JSON.parse(raw) as Entry;
      if (entry.fp !== fp) {
        throw new AppError(
          'idempotency-key-reused',
          'this Idempotency-Key was used for another request: use a new key for a new message',
        );
      }
      if (entry.state === 'done') {
        koa.set('Idempotent-Replayed', 'true');
        return entry.reply as R;
      }
      if (Date.now() >= deadline) {
        throw new AppError(
          'idempotency-key-in-progress',
          'a request with this Idempotency-Key is still running: retry in a moment',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
}

/** Whose keys these are: a key of one user never answers another. */
function scopeOf(koa: KoaContext, caller: Caller): string {
  if (caller.kind === 'session') return `u:${caller.userId}`;
  const userId = koa.query.user_id;
  return `t:${typeof userId === 'string' ? userId : ''}`;
}

/** Hashed, so a key of any characters and length makes a short, safe store key. */
function storeKey(scope: string, idempotencyKey: string): string {
  return `idempotency:${sha256(`${scope}\n${idempotencyKey}`)}`;
}

/** The request a key was first used for: method, path and body (key order does not matter). */
function fingerprint(method: string, path: string, body: unknown): string {
  return sha256(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
