import { Redis } from 'ioredis';
import type { Store } from './store.ts';

/**
 * The production store. Commands fail fast while Redis is unreachable (no offline queue, one
 * retry), so callers can fall back instead of hanging; the client reconnects by itself.
 */
export class RedisStore implements Store {
  readonly backend = 'redis' as const;
  readonly client: Redis;

  constructor(url: string, keyPrefix = '') {
    this.client = new Redis(url, {
      keyPrefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // Without a listener ioredis prints every failed reconnect; the callers see the errors that matter.
    this.client.on('error', () => {});
  }

  async connect(): Promise<this> {
    try {
      await this.client.connect();
    } catch (err) {
      // Otherwise the client retries forever in the background, keeping the process alive, while
      // the caller (connectStore) never gets a store it could close.
      this.client.disconnect();
      throw err;
    }
    return this;
  }

  get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  getAndTouch(key: string, ttlSeconds: number): Promise<string | null> {
    return this.client.getex(key, 'EX', ttlSeconds);
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'EX', ttlSeconds);
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return (await this.client.set(key, value, 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  incr(key: string): Promise<number> {
    return this.client.incr(key);
  }

  rateLimitDriver(): { driver: 'redis'; db: Redis } {
    return { driver: 'redis', db: this.client };
  }

  del(...keys: string[]): Promise<number> {
    return keys.length === 0 ? Promise.resolve(0) : this.client.del(...keys);
  }

  ttl(key: string): Promise<number> {
    return this.client.ttl(key);
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
