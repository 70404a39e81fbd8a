import { Redis, type RedisOptions } from 'ioredis';

/** How long the bus's Redis connections wait (the store's settings: REDIS_*_TIMEOUT_MS). */
export interface RedisClientTimeouts {
  /** The longest a connect or reconnect may take (REDIS_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** A publish or subscribe without an answer fails after this long (REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: number;
}

/**
 * The bus's two connections: a connection that subscribes can do nothing else, so one publishes
 * and one listens. As in the store, nothing waits for a Redis that does not answer: no offline
 * queue, a timeout on every command. Both reconnect by themselves; the listening one does not
 * subscribe again by itself (nor resend what it had sent), since the bus does that and must know
 * when it is done.
 */
export function openClients(
  url: string,
  timeouts: RedisClientTimeouts,
): { publisher: Redis; subscriber: Redis } {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: timeouts.connectTimeoutMs,
    commandTimeout: timeouts.commandTimeoutMs,
    keepAlive: 10_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  };
  const publisher = new Redis(url, common);
  const subscriber = new Redis(url, {
    ...common,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
  });
  // Every failed reconnect emits 'error'; without a listener it would be thrown. The bus logs the
  // loss that matters (its subscriptions) once, and publish reports its own failures.
  publisher.on('error', () => {});
  subscriber.on('error', () => {});
  return { publisher, subscriber };
}

/** Ends a client and waits until its socket is gone, so that closing leaves nothing running. */
export async function endClient(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => {});
  if (client.status === 'end') return;
  // Between two attempts ('reconnecting') there is no socket: disconnect() only cancels the next
  // attempt, and no 'end' follows.
  const ended =
    client.status === 'reconnecting'
      ? Promise.resolve()
      : new Promise((resolve) => client.once('end', resolve));
  client.disconnect();
  await ended;
}
