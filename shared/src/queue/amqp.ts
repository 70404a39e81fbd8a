/**
 * The job queue on RabbitMQ (amqplib). One connection per handle, with:
 * - a confirm channel for publishing: a job is persistent JSON, published `mandatory`, and
 *   `publish` resolves on the broker's ack; it rejects on a nack, an unroutable job, a broken
 *   connection, or after `publishTimeoutMs` — it never hangs;
 * - one channel per subscription, with its prefetch and manual acks. A handler that throws has a
 *   copy of its job queued with `x-attempt` + 1 (through the confirm channel) before the original
 *   is acked; on the last attempt the job is rejected without requeue, so the broker dead-letters it;
 * - error and close listeners on the connection and every channel, logged, never thrown;
 * - reconnection with backoff when the connection drops (a broker restart): the topology is
 *   declared again and the subscriptions resume. `close()` stops it.
 */
import { randomUUID } from 'node:crypto';
import {
  connect,
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Message,
} from 'amqplib';
import { redactUrl } from '../config.ts';
import { checkConsumeOptions, encodeBody, QueueError, silentLogger, type QueueLogger } from './common.ts';
import type { ConsumeOptions, JobHandler, Queue, Subscription } from './queue.ts';
import { declareTopology, type QueueTopology } from './topology.ts';

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

/** The header carrying the attempt number (1 on the first delivery). */
export const ATTEMPT_HEADER = 'x-attempt';

/** How long `close()` waits for the broker's close-ok before it drops the socket. */
const CLOSE_TIMEOUT_MS = 1_000;

/** One connection to the broker; `alive` turns false when it closes, for whatever reason. */
interface Link {
  readonly model: ChannelModel;
  alive: boolean;
}

/** What a subscription needs from the queue that owns it. */
interface SubscriptionHost {
  readonly topology: QueueTopology;
  readonly log: QueueLogger;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** The live connection, or undefined while reconnecting. */
  currentLink(): Link | undefined;
  /** Queues a copy of `message` as attempt `attempt`; resolves on the broker's confirm. */
  retry(message: ConsumeMessage, attempt: number): Promise<void>;
  forget(subscription: AmqpSubscription): void;
}

const noop = (): void => {};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Races `promise` against a timer; the loser is ignored (never an unhandled rejection). */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new QueueError(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new QueueError(messageOf(err)));
      },
    );
  });
}

function attemptOf(message: ConsumeMessage): number {
  const value: unknown = message.properties.headers?.[ATTEMPT_HEADER];
  const attempt = typeof value === 'number' ? value : Number(value);
  return Number.isInteger(attempt) && attempt >= 1 ? attempt : 1;
}

export class AmqpQueue implements Queue {
  readonly backend = 'amqp' as const;
  private readonly log: QueueLogger;
  private readonly publishTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly connectionName: string;

  private link: Link | undefined;
  private publisher: ConfirmChannel | undefined;
  private publisherOpening: Promise<ConfirmChannel> | undefined;
  /** Message ids the broker returned as unroutable, until their confirm arrives. */
  private readonly returned = new Set<string>();
  private readonly subscriptions = new Set<AmqpSubscription>();
  private readonly host: SubscriptionHost;
  private closed = false;
  private reconnecting = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;

  constructor(
    private readonly url: string,
    private readonly topology: QueueTopology,
    options: AmqpQueueOptions = {},
  ) {
    this.log = options.logger ?? silentLogger;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.initialDelayMs = options.reconnectInitialDelayMs ?? 200;
    this.maxDelayMs = Math.max(this.initialDelayMs, options.reconnectMaxDelayMs ?? 5_000);
    this.connectionName = options.connectionName ?? 'messenger';
    this.reconnectDelayMs = this.initialDelayMs;
    this.host = {
      topology,
      log: this.log,
      initialDelayMs: this.initialDelayMs,
      maxDelayMs: this.maxDelayMs,
      currentLink: () => this.link,
      retry: (message, attempt) => this.retry(message, attempt),
      forget: (subscription) => this.subscriptions.delete(subscription),
    };
  }

  /** True while connected (false while reconnecting, and once closed). */
  get connected(): boolean {
    return this.link?.alive === true;
  }

  /**
   * Connects and declares the topology. Rejects (with a QueueError naming the redacted URL) when the
   * broker is unreachable, without retrying: reconnection only starts once connected.
   */
  async connect(): Promise<this> {
    if (this.closed) throw new QueueError('the queue is closed');
    if (!this.link) await this.open();
    return this;
  }

  async publish(body: unknown): Promise<void> {
    this.assertOpen();
    const content = Buffer.from(encodeBody(body));
    const { exchange, routingKey } = this.topology;
    const messageId = randomUUID();
    await withTimeout(
      this.send(exchange, routingKey, content, messageId, { [ATTEMPT_HEADER]: 1 }),
      this.publishTimeoutMs,
      `RabbitMQ did not confirm the job within ${this.publishTimeoutMs} ms`,
    );
  }

  async consume<T>(handler: JobHandler<T>, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    checkConsumeOptions(options);
    const subscription = new AmqpSubscription(this.host, handler as JobHandler<unknown>, {
      prefetch: options.prefetch,
      maxAttempts: options.maxAttempts,
    });
    this.subscriptions.add(subscription);
    const link = this.link;
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
      this.withChannel(async (channel) => (await channel.checkQueue(deadLetterQueue)).messageCount),
      this.publishTimeoutMs,
      `RabbitMQ did not answer within ${this.publishTimeoutMs} ms`,
    );
  }

  /** True when connected and the broker answers a check of the queue within `timeoutMs`. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    if (this.closed || !this.link) return false;
    const { queueName } = this.topology;
    try {
      await withTimeout(
        this.withChannel((channel) => channel.checkQueue(queueName)),
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
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const subscription of [...this.subscriptions]) subscription.abandon();
    this.subscriptions.clear();
    const link = this.link;
    this.link = undefined;
    this.publisher = undefined;
    if (link) await this.closeConnection(link.model);
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('the queue is closed');
  }

  /** Closes a connection; one that does not answer within a second has its socket dropped. */
  private async closeConnection(model: ChannelModel): Promise<void> {
    try {
      await withTimeout(model.close(), CLOSE_TIMEOUT_MS, 'RabbitMQ did not answer the close');
    } catch (err) {
      this.log.debug({ err }, 'closing the AMQP connection failed: dropping the socket');
      // amqplib has no public way to drop a connection that does not answer its close. Destroyed
      // with an error, the socket makes amqplib tear the connection down (and stop its heartbeat
      // timers, which would otherwise keep the process alive).
      const internals = model.connection as unknown as { stream?: { destroy?: (err: Error) => void } };
      internals.stream?.destroy?.(new QueueError('RabbitMQ did not answer the close'));
    }
  }

  /** Opens a connection, the publisher, the topology and the subscriptions; all or nothing. */
  private async open(): Promise<void> {
    const model = await this.openConnection();
    const link = this.watch(model);
    try {
      if (this.closed) throw new QueueError('the queue is closed');
      // A broker that takes the connection and then stops answering must not hang connect().
      const publisher = await withTimeout(
        (async () => {
          const channel = await this.openPublisher(link);
          await declareTopology(channel, this.topology);
          return channel;
        })(),
        this.connectTimeoutMs,
        `RabbitMQ did not declare the topology within ${this.connectTimeoutMs} ms`,
      );
      if (!link.alive) throw new QueueError('the connection to RabbitMQ closed while opening');
      if (this.closed) throw new QueueError('the queue is closed');
      this.link = link;
      this.publisher = publisher;
      this.reconnectDelayMs = this.initialDelayMs;
    } catch (err) {
      await this.closeConnection(model);
      throw err;
    }
    for (const subscription of this.subscriptions) {
      await subscription.start(link).catch((err: unknown) => {
        this.log.warn({ err, queue: this.topology.queueName }, 'could not resume consuming: retrying');
        subscription.scheduleRestart();
      });
    }
  }

  private async openConnection(): Promise<ChannelModel> {
    const connecting = connect(this.url, {
      timeout: this.connectTimeoutMs,
      clientProperties: { connection_name: this.connectionName },
    });
    try {
      return await withTimeout(
        connecting,
        this.connectTimeoutMs,
        `no answer within ${this.connectTimeoutMs} ms`,
      );
    } catch (err) {
      // Should the connection still open after the timeout, it is closed at once.
      connecting.then((late) => late.close().catch(noop), noop);
      throw new QueueError(`cannot connect to RabbitMQ at ${redactUrl(this.url)}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  /** Listens to a new connection: errors are logged, an unexpected close starts reconnecting. */
  private watch(model: ChannelModel): Link {
    const link: Link = { model, alive: true };
    model.on('error', (err: Error) => this.log.warn({ err }, 'AMQP connection error'));
    model.on('handler-error', (err: Error, event: string) =>
      this.log.error({ err, event }, 'an AMQP connection listener threw'),
    );
    model.on('blocked', (reason: string) => this.log.warn({ reason }, 'RabbitMQ blocked the connection'));
    model.on('unblocked', () => this.log.info({}, 'RabbitMQ unblocked the connection'));
    model.on('close', (err?: Error) => {
      link.alive = false;
      if (this.link !== link) return;
      this.link = undefined;
      this.publisher = undefined;
      if (this.closed) return;
      this.log.warn({ err }, 'the connection to RabbitMQ was lost: reconnecting');
      this.scheduleReconnect();
    });
    return link;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnecting || this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.maxDelayMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reconnecting = true;
      this.open().then(
        () => {
          this.reconnecting = false;
          this.log.info({ url: redactUrl(this.url) }, 'reconnected to RabbitMQ');
          if (!this.link) this.scheduleReconnect();
        },
        (err: unknown) => {
          this.reconnecting = false;
          if (this.closed) return;
          this.log.warn({ err, retryInMs: this.reconnectDelayMs }, 'reconnecting to RabbitMQ failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  private async openPublisher(link: Link): Promise<ConfirmChannel> {
    const channel = await link.model.createConfirmChannel();
    channel.on('error', (err: Error) => this.log.warn({ err }, 'AMQP publisher channel error'));
    channel.on('handler-error', (err: Error, event: string) =>
      this.log.error({ err, event }, 'an AMQP publisher channel listener threw'),
    );
    channel.on('return', (message: Message) => {
      const id: unknown = message.properties.messageId;
      if (typeof id === 'string') this.returned.add(id);
    });
    channel.on('close', () => {
      if (this.publisher === channel) this.publisher = undefined;
    });
    return channel;
  }

  /** The publisher channel, opened again if the broker closed it while the connection lives. */
  private async getPublisher(): Promise<ConfirmChannel> {
    if (this.publisher) return this.publisher;
    const link = this.link;
    if (!link) throw new QueueError('not connected to RabbitMQ (reconnecting)');
    this.publisherOpening ??= this.openPublisher(link).finally(() => {
      this.publisherOpening = undefined;
    });
    const channel = await this.publisherOpening;
    if (this.link === link && link.alive) this.publisher = channel;
    return channel;
  }

  private async send(
    exchange: string,
    routingKey: string,
    content: Buffer,
    messageId: string,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const channel = await this.getPublisher();
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

  private retry(message: ConsumeMessage, attempt: number): Promise<void> {
    const id: unknown = message.properties.messageId;
    const messageId = typeof id === 'string' ? id : randomUUID();
    // Straight to the queue (default exchange): a retry is for this queue only.
    return withTimeout(
      this.send('', this.topology.queueName, message.content, messageId, {
        ...message.properties.headers,
        [ATTEMPT_HEADER]: attempt,
      }),
      this.publishTimeoutMs,
      `RabbitMQ did not confirm the retry within ${this.publishTimeoutMs} ms`,
    );
  }

  /** Runs `fn` on a short-lived channel, so a failed check cannot break the publisher. */
  private async withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    const link = this.link;
    if (!link) throw new QueueError('not connected to RabbitMQ');
    const channel = await link.model.createChannel();
    channel.on('error', (err: Error) => this.log.debug({ err }, 'AMQP check channel error'));
    channel.on('handler-error', (err: Error, event: string) =>
      this.log.error({ err, event }, 'an AMQP channel listener threw'),
    );
    try {
      return await fn(channel);
    } finally {
      await channel.close().catch(noop);
    }
  }
}

/** One consumer on its own channel; resumes on a new channel after a reconnect. */
class AmqpSubscription implements Subscription {
  private channel: Channel | undefined;
  private channelLink: Link | undefined;
  private consumerTag: string | undefined;
  private starting: Promise<void> | undefined;
  private cancelling: Promise<void> | undefined;
  /** Cancelled or abandoned: never consumes again. */
  private ended = false;
  /** Its queue closed: jobs still running are neither acked nor retried. */
  private abandoned = false;
  private readonly inFlight = new Set<Promise<void>>();
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly handler: JobHandler<unknown>,
    private readonly options: ConsumeOptions,
  ) {
    this.restartDelayMs = host.initialDelayMs;
  }

  /** Starts consuming on `link` unless it already does (idempotent). */
  start(link: Link): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.channel && this.channelLink === link) return Promise.resolve();
    this.starting ??= this.open(link).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  cancel(): Promise<void> {
    this.cancelling ??= this.stopConsuming();
    return this.cancelling;
  }

  /** The queue closes: no restart, no acks; the connection's close takes the channel with it. */
  abandon(): void {
    this.ended = true;
    this.abandoned = true;
    clearTimeout(this.restartTimer);
    this.host.forget(this);
  }

  /** Tries again later, with backoff, to consume on the live connection (if any). */
  scheduleRestart(): void {
    if (this.ended || this.restartTimer) return;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, this.host.maxDelayMs);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      const link = this.host.currentLink();
      // Without a connection, the reconnect resumes every subscription.
      if (!link || this.ended) return;
      this.start(link).then(
        () => {
          this.restartDelayMs = this.host.initialDelayMs;
        },
        (err: unknown) => {
          this.host.log.warn({ err, queue: this.host.topology.queueName }, 'could not resume consuming');
          this.scheduleRestart();
        },
      );
    }, delay);
  }

  private async open(link: Link): Promise<void> {
    const { log, topology } = this.host;
    const channel = await link.model.createChannel();
    channel.on('error', (err: Error) => log.warn({ err }, 'AMQP consumer channel error'));
    channel.on('handler-error', (err: Error, event: string) =>
      log.error({ err, event }, 'an AMQP consumer channel listener threw'),
    );
    channel.on('close', () => this.channelClosed(channel, link));
    try {
      // Declared again so a consumer also recovers from its queue being deleted under it.
      await declareTopology(channel, topology);
      await channel.prefetch(this.options.prefetch);
      this.channel = channel;
      this.channelLink = link;
      const { consumerTag } = await channel.consume(
        topology.queueName,
        (message) => this.delivered(channel, message),
        { noAck: false },
      );
      this.consumerTag = consumerTag;
    } catch (err) {
      if (this.channel === channel) this.channel = undefined;
      await channel.close().catch(noop);
      throw err;
    }
  }

  private channelClosed(channel: Channel, link: Link): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.consumerTag = undefined;
    if (this.ended) return;
    // The connection closes its channels before it reports its own close: decide on the next turn.
    setImmediate(() => {
      if (link.alive && !this.ended) {
        this.host.log.warn({ queue: this.host.topology.queueName }, 'the consumer channel closed: resuming');
        this.scheduleRestart();
      }
    });
  }

  private delivered(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted): start over on a new channel.
      this.host.log.warn({ queue: this.host.topology.queueName }, 'RabbitMQ cancelled the consumer');
      channel.close().catch(noop);
      return;
    }
    const running: Promise<void> = this.run(channel, message)
      .catch((err: unknown) => this.host.log.error({ err }, 'settling a job failed'))
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  private async run(channel: Channel, message: ConsumeMessage): Promise<void> {
    const { log } = this.host;
    const { maxAttempts } = this.options;
    const attempt = attemptOf(message);
    const jobId: unknown = message.properties.messageId;
    let body: unknown;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch (err) {
      log.error({ err, jobId }, 'a job that is not JSON: dead-lettered');
      this.settle(() => channel.nack(message, false, false));
      return;
    }
    try {
      await this.handler({
        body,
        attempt,
        lastAttempt: attempt >= maxAttempts,
        redelivered: message.fields.redelivered,
      });
    } catch (err) {
      if (this.abandoned) return;
      if (attempt >= maxAttempts) {
        log.warn({ err, jobId, attempt }, 'job failed on its last attempt: dead-lettered');
        this.settle(() => channel.nack(message, false, false));
        return;
      }
      log.debug({ err, jobId, attempt }, 'job failed: retrying');
      try {
        await this.host.retry(message, attempt + 1);
      } catch (retryErr) {
        // The original goes back to the queue as it is: it runs again as the same attempt.
        log.warn({ err: retryErr, jobId, attempt }, 'could not queue the retry: job requeued');
        this.settle(() => channel.nack(message, false, true));
        return;
      }
      this.settle(() => channel.ack(message));
      return;
    }
    this.settle(() => channel.ack(message));
  }

  private settle(action: () => void): void {
    if (this.abandoned) return;
    try {
      action();
    } catch (err) {
      // The channel closed under the job (amqplib throws at once): the broker delivers it again.
      this.host.log.debug({ err }, 'job not settled: its channel is closed');
    }
  }

  private async stopConsuming(): Promise<void> {
    this.ended = true;
    clearTimeout(this.restartTimer);
    await this.starting?.catch(noop);
    const channel = this.channel;
    const consumerTag = this.consumerTag;
    if (channel && consumerTag) {
      await channel.cancel(consumerTag).catch((err: unknown) => {
        this.host.log.debug({ err }, 'cancelling the consumer failed');
      });
    }
    // Every delivery reached the handler before the broker's cancel-ok, so this is all of them.
    await Promise.all([...this.inFlight]);
    // Only now: a queue closed while this waited abandons the jobs still in flight.
    this.host.forget(this);
    this.channel = undefined;
    this.consumerTag = undefined;
    if (channel) await channel.close().catch(noop);
  }
}
