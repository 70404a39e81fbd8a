import type { Config } from '../config.ts';
import type { Bus, BusLogger } from './bus.ts';
import { MemoryBus } from './memory.ts';

export type { Bus, BusLogger, Unsubscribe } from './bus.ts';
export { MemoryBus, type MemoryHub } from './memory.ts';

/**
 * Opens the bus REDIS_URL names, under the same key prefix as the store: the in-process hub for
 * memory://. Redis pub/sub is not there yet: a redis:// URL is refused.
 */
export async function connectBus(config: Pick<Config, 'store'>, logger?: BusLogger): Promise<Bus> {
  const { backend, keyPrefix } = config.store;
  if (backend === 'redis') throw new Error('the Redis bus is not there yet');
  return new MemoryBus(keyPrefix, logger);
}
