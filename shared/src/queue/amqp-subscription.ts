/**
 * A subscription on RabbitMQ: one channel per subscription, with its prefetch and manual acks. A
 * handler that throws has a copy of its job queued with `x-attempt` + 1 (through the publisher)
 * before the original is acked; on the last attempt the job is rejected without requeue, so the
 * broker dead-letters it. It resumes on a new channel when its channel or connection is replaced.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { QueueLogger } from './common.ts';
import { noop, type Link } from './amqp-connection.ts';
import { ATTEMPT_HEADER } from './amqp-publisher.ts';
import type { ConsumeOptions, JobHandler, Subscription } from './queue.ts';
import { declareTopology, type QueueTopology } from './topology.ts';

/** What a subscription needs from the queue that owns it. */
export interface SubscriptionHost {
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

function attemptOf(message: ConsumeMessage): number {
  const value: unknown = message.properties.headers?.[ATTEMPT_HEADER];
  const attempt = typeof value === 'number' ? value : Number(value);
  return Number.isInteger(attempt) && attempt >= 1 ? attempt : 1;
}

/** One consumer on its own channel; resumes on a new channel after a reconnect. */
export class AmqpSubscription implements Subscription {
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
