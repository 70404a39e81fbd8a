import type { Config } from '../config.ts';
import type { Bus, BusLogger } from './bus.ts';
import { MemoryBus } from './memory.ts';
import { RedisBus } from './redis.ts';

export type { Bus, BusLogger, Unsubscribe } from './bus.ts';
export { MemoryBus, type MemoryHub } from './memory.ts';
export { RedisBus, type RedisBusOptions } from './redis.ts';

/**
 * Opens the bus REDIS_URL names, on the same server and under the same key prefix as the store:
 * Redis pub/sub, or the in-process hub for memory://. Rejects quickly (a DependencyUnavailableError
 * naming the redacted URL) when Redis does not answer; once connected it reconnects by itself.
 */
export async function connectBus(config: Pick<Config, 'store'>, logger?: BusLogger): Promise<Bus> {
  const { backend, url, keyPrefix, connectTimeoutMs, commandTimeoutMs, breakerMs } = config.store;
  return backend === 'redis'
    ? new RedisBus(url, keyPrefix, {
        connectTimeoutMs,
        commandTimeoutMs,
        breakerMs,
        ...(logger && { logger }),
      }).connect()
    : new MemoryBus(keyPrefix, logger);
}
