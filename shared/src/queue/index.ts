import type { Config } from '../config.ts';
import { AmqpQueue } from './amqp.ts';
import type { QueueLogger } from './common.ts';
import { MemoryQueue } from './memory.ts';
import type { Queue } from './queue.ts';

export type { ConsumeOptions, JobHandler, Queue, QueueJob, Subscription } from './queue.ts';
export { QueueError, type QueueLogger } from './common.ts';
export { AmqpQueue, ATTEMPT_HEADER, type AmqpQueueOptions } from './amqp.ts';
export { MemoryQueue, deleteMemoryQueue } from './memory.ts';
export { declareTopology, deleteTopology, type QueueTopology } from './topology.ts';

/**
 * Opens the queue AMQP_URL names: connected to RabbitMQ with its topology declared, or the
 * in-process queue. Rejects quickly (a QueueError naming the redacted URL) when the broker is
 * unreachable; once connected, an AMQP queue reconnects by itself until it is closed.
 */
export async function connectQueue(config: Pick<Config, 'queue'>, logger?: QueueLogger): Promise<Queue> {
  const { queue } = config;
  if (queue.backend === 'memory') return new MemoryQueue(queue, logger);
  return new AmqpQueue(queue.url, queue, {
    logger,
    connectTimeoutMs: queue.connectTimeoutMs,
    publishTimeoutMs: queue.publishTimeoutMs,
  }).connect();
}
