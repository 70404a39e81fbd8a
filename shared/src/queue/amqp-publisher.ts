/**
 * Publishing on RabbitMQ through a confirm channel: a job is persistent JSON, published
 * `mandatory`, and a publish resolves on the broker's ack; it rejects on a nack, an unroutable job,
 * a broken connection, or after the publish timeout — it never hangs. Retries of failed jobs go
 * through it too, straight to the queue.
 */
import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import { QueueError, type QueueLogger } from './common.ts';
import { messageOf, withTimeout, type Link } from './amqp-connection.ts';
import type { QueueTopology } from './topology.ts';

/** The header carrying the attempt number (1 on the first delivery). */
export const ATTEMPT_HEADER = 'x-attempt';

export interface AmqpPublisherOptions {
  log: QueueLogger;
  /** How long a publish waits for the broker's confirm. */
  timeoutMs: number;
  /** The live connection, or undefined while reconnecting. */
  currentLink(): Link | undefined;
}

export class AmqpPublisher {
  private channel: ConfirmChannel | undefined;
  private opening: Promise<ConfirmChannel> | undefined;
  /** Message ids the broker returned as unroutable, until their confirm arrives. */
  private readonly returned = new Set<string>();

  constructor(
    private readonly topology: QueueTopology,
    private readonly options: AmqpPublisherOptions,
  ) {}

  /** Opens a confirm channel on `link`, with its listeners; `use` makes it the publisher. */
  async open(link: Link): Promise<ConfirmChannel> {
    const { log } = this.options;
    const channel = await link.model.createConfirmChannel();
    channel.on('error', (err: Error) => log.warn({ err }, 'AMQP publisher channel error'));
    channel.on('handler-error', (err: Error, event: string) =>
      log.error({ err, event }, 'an AMQP publisher channel listener threw'),
    );
    channel.on('return', (message: Message) => {
      const id: unknown = message.properties.messageId;
      if (typeof id === 'string') this.returned.add(id);
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    return channel;
  }

  use(channel: ConfirmChannel): void {
    this.channel = channel;
  }

  /** Forgets the channel: its connection is gone. */
  drop(): void {
    this.channel = undefined;
  }

  /** Publishes a job (its JSON) to the exchange as attempt 1. */
  publish(content: Buffer): Promise<void> {
    const { exchange, routingKey } = this.topology;
    const { timeoutMs } = this.options;
    return withTimeout(
      this.send(exchange, routingKey, content, randomUUID(), { [ATTEMPT_HEADER]: 1 }),
      timeoutMs,
      `RabbitMQ did not confirm the job within ${timeoutMs} ms`,
    );
  }

  /** Queues a copy of `message` as attempt `attempt`; resolves on the broker's confirm. */
  retry(message: ConsumeMessage, attempt: number): Promise<void> {
    const { timeoutMs } = this.options;
    const id: unknown = message.properties.messageId;
    const messageId = typeof id === 'string' ? id : randomUUID();
    // Straight to the queue (default exchange): a retry is for this queue only.
    return withTimeout(
      this.send('', this.topology.queueName, message.content, messageId, {
        ...message.properties.headers,
        [ATTEMPT_HEADER]: attempt,
      }),
      timeoutMs,
      `RabbitMQ did not confirm the retry within ${timeoutMs} ms`,
    );
  }

  /** The publisher channel, opened again if the broker closed it while the connection lives. */
  private async get(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    const link = this.options.currentLink();
    if (!link) throw new QueueError('not connected to RabbitMQ (reconnecting)');
    this.opening ??= this.open(link).finally(() => {
      this.opening = undefined;
    });
    const channel = await this.opening;
    if (this.options.currentLink() === link && link.alive) this.channel = channel;
    return channel;
  }

  private async send(
    exchange: string,
    routingKey: string,
    content: Buffer,
    messageId: string,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const channel = await this.get();
    await new Promise<void>((resolve, reject) => {
      const confirmed = (err: unknown): void => {
        const returned = this.returned.delete(messageId);
        if (err) {
          reject(new QueueError(`RabbitMQ did not take the job: ${messageOf(err)}`, { cause: err }));
        } else if (returned) {
          reject(new QueueError(`RabbitMQ could not route the job: no queue bound to "${exchange}"`));
        } else {
          resolve();
        }
      };
      try {
        channel.publish(
          exchange,
          routingKey,
          content,
          {
            persistent: true,
            mandatory: true,
            contentType: 'application/json',
            messageId,
            timestamp: Math.floor(Date.now() / 1000),
            headers,
          },
          confirmed,
        );
      } catch (err) {
        // amqplib throws at once on a closed channel
        confirmed(err);
      }
    });
  }
}
