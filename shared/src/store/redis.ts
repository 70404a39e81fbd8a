import { Redis, ReplyError } from 'ioredis';
import { Breaker } from '../breaker.ts';
import { redactUrl } from '../config.ts';
import { DependencyUnavailableError } from '../errors.ts';
import type { Store } from './store.ts';

export interface RedisStoreOptions {
  /** The longest a connect or reconnect may take (REDIS_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** A command without an answer fails after this long (REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: number;
  /** After a command failed on a live connection (a frozen server), commands fail at once this long. */
  breakerMs: number;
}

/**
 * getFollowing: GET of every key, then GET of ARGV[1] .. <value of the last key> .. ARGV[2]. A false
 * in the reply table is Redis's nil (a Lua nil would end the table).
 */
const GET_FOLLOWING_LUA = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('GET', key) end
local last = out[#KEYS]
if last then out[#KEYS + 1] = redis.call('GET', ARGV[1] .. last .. ARGV[2]) else out[#KEYS + 1] = false end
return out
`;

/** The client with the command defined in the constructor. */
type FollowingClient = Redis & {
  getFollowingBuffer(numKeys: number, ...keysThenArgs: string[]): Promise<Array<Buffer | null>>;
};

const DEFAULTS: RedisStoreOptions = { connectTimeoutMs: 3_000, commandTimeoutMs: 1_000, breakerMs: 1_000 };

/**
 * The production store. Commands never wait long for a Redis that does not answer: none are queued
 * while disconnected (no offline queue), each has a timeout, and after a timeout on a live
 * connection (a frozen server) the breaker fails the next ones at once. Every failure that is not
 * Redis's own reply becomes a {@link DependencyUnavailableError}; the client reconnects by itself.
 */
export class RedisStore implements Store {
  readonly backend = 'redis' as const;
  readonly client: Redis;
  readonly breaker: Breaker;

  constructor(
    private readonly url: string,
    private readonly keyPrefix = '',
    options: Partial<RedisStoreOptions> = {},
  ) {
    const { connectTimeoutMs, commandTimeoutMs, breakerMs } = { ...DEFAULTS, ...options };
    this.breaker = new Breaker(breakerMs);
    this.client = new Redis(url, {
      keyPrefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: connectTimeoutMs,
      commandTimeout: commandTimeoutMs,
      keepAlive: 10_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // Without a listener ioredis prints every failed reconnect; the callers see the errors that matter.
    this.client.on('error', () => {});
    // Sent once by SHA (ioredis loads it again after a NOSCRIPT).
    this.client.defineCommand('getFollowing', { lua: GET_FOLLOWING_LUA });
  }

  async connect(): Promise<this> {
    try {
      await this.client.connect();
    } catch (err) {
      // Otherwise the client retries forever in the background, keeping the process alive, while
      // the caller (connectStore) never gets a store it could close.
      this.client.disconnect();
      throw new DependencyUnavailableError('store', `Redis at ${redactUrl(this.url)} does not answer`, {
        cause: err,
      });
    }
    return this;
  }

  get(key: string): Promise<string | null> {
    return this.run(() => this.client.get(key));
  }

  async getFollowing(
    keys: readonly string[],
    follow: { readonly prefix: string; readonly suffix: string },
  ): Promise<{ values: Array<string | null>; followed: Buffer | null }> {
    if (keys.length === 0) return { values: [], followed: null };
    // The key prefix applies to KEYS only: the followed key, built in the script, carries it itself.
    const replies = await this.run(() =>
      (this.client as FollowingClient).getFollowingBuffer(
        keys.length,
        ...keys,
        `${this.keyPrefix}${follow.prefix}`,
        follow.suffix,
      ),
    );
    return {
      values: replies.slice(0, keys.length).map((v) => (v === null ? null : v.toString())),
      followed: replies[keys.length] ?? null,
    };
  }

  getAndTouch(key: string, ttlSeconds: number): Promise<string | null> {
    return this.run(() => this.client.getex(key, 'EX', ttlSeconds));
  }

  async set(key: string, value: string | Buffer, ttlSeconds?: number): Promise<void> {
    await this.run(() =>
      ttlSeconds === undefined ? this.client.set(key, value) : this.client.set(key, value, 'EX', ttlSeconds),
    );
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return (await this.run(() => this.client.set(key, value, 'EX', ttlSeconds, 'NX'))) === 'OK';
  }

  incr(key: string): Promise<number> {
    return this.run(() => this.client.incr(key));
  }

  rateLimitDriver(): { driver: 'redis'; db: Redis } {
    return { driver: 'redis', db: this.client };
  }

  async addToRoster(key: string, member: string, keep: number, ttlSeconds: number): Promise<string[]> {
    const replies = await this.run(() =>
      this.client
        .multi()
        .zadd(key, Date.now(), member)
        .zrange(key, 0, -(keep + 1))
        .zremrangebyrank(key, 0, -(keep + 1))
        .expire(key, ttlSeconds)
        .exec(),
    );
    const [err, dropped] = replies?.[1] ?? [new Error('the roster transaction was discarded'), []];
    if (err) throw err;
    return dropped as string[];
  }

  async removeFromRoster(key: string, member: string): Promise<void> {
    await this.run(() => this.client.zrem(key, member));
  }

  del(...keys: string[]): Promise<number> {
    return keys.length === 0 ? Promise.resolve(0) : this.run(() => this.client.del(...keys));
  }

  ttl(key: string): Promise<number> {
    return this.run(() => this.client.ttl(key));
  }

  /**
   * Runs one command. Redis's own error reply passes through (the command was wrong); any other
   * failure means Redis did not answer. One on a live connection is a timeout (a server that
   * stopped answering), so the breaker opens; while reconnecting, commands fail at once anyway.
   */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.breaker.open) {
      throw new DependencyUnavailableError('store', 'Redis did not answer a moment ago');
    }
    try {
      return await command();
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      if (this.client.status === 'ready') this.breaker.trip();
      throw new DependencyUnavailableError('store', 'Redis does not answer', { cause: err });
    }
  }

  async ping(timeoutMs = 2_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const pong = this.client
      .ping()
      .then((r) => r === 'PONG')
      .catch(() => false);
    try {
      return await Promise.race([pong, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
