import type { Config } from '../config.ts';
import { MemoryStore } from './memory.ts';
import { RedisStore } from './redis.ts';
import type { Store } from './store.ts';

export type { Store } from './store.ts';
export { MemoryStore } from './memory.ts';
export { OwedWrites } from './owed-writes.ts';
export { RedisStore, type RedisStoreOptions } from './redis.ts';

/** Opens the store REDIS_URL names. */
export async function connectStore(config: Pick<Config, 'store'>): Promise<Store> {
  const { backend, url, keyPrefix, ...timeouts } = config.store;
  return backend === 'redis'
    ? new RedisStore(url, keyPrefix, timeouts).connect()
    : new MemoryStore(keyPrefix);
}
