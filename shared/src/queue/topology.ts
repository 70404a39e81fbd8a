/**
 * The RabbitMQ topology of the search pipeline, declared in this one module from the config's
 * `queue` section:
 *
 *   exchange (direct, durable) --routingKey--> queueName (classic, durable)
 *                                                  | dead-lettered (rejected on the last attempt)
 *                                                  v
 *   deadLetterExchange (fanout, durable) -------> deadLetterQueue (classic, durable)
 *
 * - The dead-letter exchange is a fanout: a dead-lettered message keeps the routing key it was last
 *   published with (the exchange's routing key for a first attempt, the queue name for a retry sent
 *   straight to the queue), and a fanout routes both to the dead-letter queue without a binding key.
 * - Classic queues, not quorum: the broker is a single node (quorum queues replicate across a
 *   cluster, which buys nothing here), and retries are counted by the application (`x-attempt`
 *   header), so quorum's `delivery-limit` is not needed. The trade-off: a job whose handler kills
 *   the process every time is redelivered forever, since a classic queue does not count
 *   redeliveries.
 * - No `x-queue-type` argument: declarations must match exactly what an existing queue was
 *   declared with, and leaving it out keeps operators free to pre-create the queues.
 */
import type { Channel } from 'amqplib';
import type { Config } from '../config.ts';

/** The names of the topology (every field of `Config['queue']` that names something on the broker). */
export type QueueTopology = Pick<
  Config['queue'],
  'exchange' | 'routingKey' | 'queueName' | 'deadLetterExchange' | 'deadLetterQueue'
>;

/** Declares (idempotently) the exchanges, queues and bindings. Safe to run on every (re)connect. */
export async function declareTopology(channel: Channel, topology: QueueTopology): Promise<void> {
  const { exchange, routingKey, queueName, deadLetterExchange, deadLetterQueue } = topology;
  await channel.assertExchange(deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(deadLetterQueue, { durable: true });
  await channel.bindQueue(deadLetterQueue, deadLetterExchange, '');

  await channel.assertExchange(exchange, 'direct', { durable: true });
  await channel.assertQueue(queueName, { durable: true, deadLetterExchange });
  await channel.bindQueue(queueName, exchange, routingKey);
}

/**
 * Deletes everything `declareTopology` declared, with the jobs in it (tests, and operators
 * retiring a deployment). Deleting what does not exist is not an error.
 */
export async function deleteTopology(channel: Channel, topology: QueueTopology): Promise<void> {
  await channel.deleteQueue(topology.queueName);
  await channel.deleteQueue(topology.deadLetterQueue);
  await channel.deleteExchange(topology.exchange);
  await channel.deleteExchange(topology.deadLetterExchange);
}
