/**
 * The job queue on RabbitMQ (amqplib), composed of three parts, one module each (as rascal and
 * bullmq split theirs):
 * - amqp-connection.ts: one connection per handle, with error and close listeners, logged, never
 *   thrown, and reconnection with backoff when it drops (a broker restart); `close()` stops it;
 * - amqp-publisher.ts: a confirm channel; `publish` resolves on the broker's ack and never hangs;
 * - amqp-subscription.ts: one channel per subscription, with its prefetch, manual acks, retries
 *   and dead-lettering.
 * This module ties them together: each new connection has its publisher opened and the topology
 * declared before it is used, then the subscriptions resume on it.
 */
import { checkConsumeOptions, encodeBody, QueueError, silentLogger, type QueueLogger } from './common.ts';
import { AmqpConnection, messageOf, withTimeout, type Link } from './amqp-connection.ts';
import { AmqpPublisher } from './amqp-publisher.ts';
import { AmqpSubscription, type SubscriptionHost } from './amqp-subscription.ts';
import type { ConsumeOptions, JobHandler, Queue, Subscription } from './queue.ts';
import { declareTopology, type QueueTopology } from './topology.ts';

export { ATTEMPT_HEADER } from './amqp-publisher.ts';

export interface AmqpQueueOptions {
  /** Where connection trouble, reconnects and dead-lettered jobs are logged (pino fits). */
  logger?: QueueLogger;
  /** How long `publish` (and `deadLetterCount`) wait for the broker (default 5000 ms). */
  publishTimeoutMs?: number;
  /** How long opening a connection may take, TCP and AMQP handshake (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Delay before the first reconnect attempt, doubled on each failure (default 200 ms). */
  reconnectInitialDelayMs?: number;
  /** The longest delay between reconnect attempts (default 5000 ms). */
  reconnectMaxDelayMs?: number;
  /** The name the broker shows for the connection (default "messenger"). */
  connectionName?: string;
}

export class AmqpQueue implements Queue {
  readonly backend = 'amqp' as const;
  private readonly log: QueueLogger;
  private readonly publishTimeoutMs: number;
  private readonly connection: AmqpConnection;
  private readonly publisher: AmqpPublisher;
  private readonly subscriptions = new Set<AmqpSubscription>();
  private readonly host: SubscriptionHost;

  constructor(
    url: string,
    private readonly topology: QueueTopology,
    options: AmqpQueueOptions = {},
  ) {
    this.log = options.logger ?? silentLogger;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    const initialDelayMs = options.reconnectInitialDelayMs ?? 200;
    const maxDelayMs = Math.max(initialDelayMs, options.reconnectMaxDelayMs ?? 5_000);
    const currentLink = (): Link | undefined => this.connection.current;
    this.publisher = new AmqpPublisher(topology, {
      log: this.log,
      timeoutMs: this.publishTimeoutMs,
      currentLink,
    });
    this.connection = new AmqpConnection(
      url,
      {
        log: this.log,
        connectTimeoutMs: options.connectTimeoutMs ?? 3_000,
        initialDelayMs,
        maxDelayMs,
        connectionName: options.connectionName ?? 'messenger',
      },
      {
        prepare: async (link) => {
          const channel = await this.publisher.open(link);
          await declareTopology(channel, topology);
          return () => this.publisher.use(channel);
        },
        resume: (link) => this.resume(link),
        lost: () => this.publisher.drop(),
      },
    );
    this.host = {
      topology,
      log: this.log,
      initialDelayMs,
      maxDelayMs,
      currentLink,
      retry: (message, attempt) => this.publisher.retry(message, attempt),
      forget: (subscription) => this.subscriptions.delete(subscription),
    };
  }

  /** True while connected (false while reconnecting, and once closed). */
  get connected(): boolean {
    return this.connection.current?.alive === true;
  }

  /**
   * Connects and declares the topology. Rejects (with a QueueError naming the redacted URL) when the
   * broker is unreachable, without retrying: reconnection only starts once connected.
   */
  async connect(): Promise<this> {
    await this.connection.connect();
    return this;
  }

  async publish(body: unknown): Promise<void> {
    this.assertOpen();
    await this.publisher.publish(Buffer.from(encodeBody(body)));
  }

  async consume<T>(handler: JobHandler<T>, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    checkConsumeOptions(options);
    const subscription = new AmqpSubscription(this.host, handler as JobHandler<unknown>, {
      prefetch: options.prefetch,
      maxAttempts: options.maxAttempts,
    });
    this.subscriptions.add(subscription);
    const link = this.connection.current;
    if (!link) {
      this.log.warn(
        { queue: this.topology.queueName },
        'not connected to RabbitMQ: consuming once reconnected',
      );
      return subscription;
    }
    try {
      await subscription.start(link);
    } catch (err) {
      subscription.abandon();
      throw new QueueError(`could not consume from ${this.topology.queueName}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return subscription;
  }

  async deadLetterCount(): Promise<number> {
    this.assertOpen();
    const { deadLetterQueue } = this.topology;
    return withTimeout(
      this.connection.withChannel(
        async (channel) => (await channel.checkQueue(deadLetterQueue)).messageCount,
      ),
      this.publishTimeoutMs,
      `RabbitMQ did not answer within ${this.publishTimeoutMs} ms`,
    );
  }

  /** True when connected and the broker answers a check of the queue within `timeoutMs`. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    if (this.connection.closed || !this.connection.current) return false;
    const { queueName } = this.topology;
    try {
      await withTimeout(
        this.connection.withChannel((channel) => channel.checkQueue(queueName)),
        timeoutMs,
        'ping timed out',
      );
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A dying connection: stops reconnecting and closes the connection (and with it every channel)
   * without waiting for handlers in flight. Their jobs were never acked, so the broker delivers
   * them again; their outcome is ignored.
   */
  async close(): Promise<void> {
    if (this.connection.closed) return;
    for (const subscription of [...this.subscriptions]) subscription.abandon();
    this.subscriptions.clear();
    this.publisher.drop();
    await this.connection.close();
  }

  private assertOpen(): void {
    if (this.connection.closed) throw new QueueError('the queue is closed');
  }

  /** Resumes every subscription on a new connection; one that cannot start tries again later. */
  private async resume(link: Link): Promise<void> {
    for (const subscription of this.subscriptions) {
      await subscription.start(link).catch((err: unknown) => {
        this.log.warn({ err, queue: this.topology.queueName }, 'could not resume consuming: retrying');
        subscription.scheduleRestart();
      });
    }
  }
}
