import type { Breaker } from '../breaker.ts';

/**
 * The key-value store behind one small interface: Redis, or an in-process map for the embedded
 * default. Sessions, caches and (later) rate limits and search results live here, so that any
 * number of API processes share them. Nothing above this interface knows which one it has.
 */
export interface Store {
  readonly backend: 'redis' | 'memory';
  /**
   * Open while the store is known not to answer: its commands then fail at once. Whoever talks to
   * the store past this interface (the rate limiter) checks and trips it too.
   */
  readonly breaker: Breaker;
  get(key: string): Promise<string | null>;
  /** Reads a value and restarts its time to live in one step (sliding expiry). */
  getAndTouch(key: string, ttlSeconds: number): Promise<string | null>;
  /**
   * Reads `keys` and, in the same round trip, the key that the last of them names: the key
   * `${follow.prefix}${value of the last key}${follow.suffix}` (none when that value is missing).
   * The followed value comes back as bytes, for values sent on as they are (a cached response body).
   * What a hot read needs (a chat's cache version, then the page under it) costs one round trip.
   */
  getFollowing(
    keys: readonly string[],
    follow: { readonly prefix: string; readonly suffix: string },
  ): Promise<{ values: Array<string | null>; followed: Buffer | null }>;
  /**
   * Writes a value; with `ttlSeconds` it disappears after that long. Bytes (a Buffer) are stored as
   * they are: a value that is sent on as bytes (a cached response body) is never decoded to a string
   * and encoded again on its way in.
   */
  set(key: string, value: string | Buffer, ttlSeconds?: number): Promise<void>;
  /** Writes a value only where the key is missing; answers whether it wrote. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /** Adds one to an integer value (a missing key counts as 0); answers the new value. */
  incr(key: string): Promise<number>;
  /**
   * Where koa-ratelimit keeps its counters in this store: its redis driver with this client, or its
   * memory driver with a map. Passed through to koa-ratelimit untouched; nothing else reads it.
   */
  rateLimitDriver(): { driver: 'redis' | 'memory'; db: unknown };
  /**
   * Adds `member` as the newest of a roster kept in arrival order, and drops all but the newest
   * `keep`, in one step; answers the members it dropped, oldest first. The roster disappears
   * `ttlSeconds` after its last change. (A user's event streams across every API instance.)
   */
  addToRoster(key: string, member: string, keep: number, ttlSeconds: number): Promise<string[]>;
  /** Removes `member` from a roster (nothing when it is not there). */
  removeFromRoster(key: string, member: string): Promise<void>;
  /** Removes keys; answers how many existed. */
  del(...keys: string[]): Promise<number>;
  /** Seconds left to live: -1 for a key without expiry, -2 for a missing key (as Redis TTL). */
  ttl(key: string): Promise<number>;
  /** True when the store answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}
