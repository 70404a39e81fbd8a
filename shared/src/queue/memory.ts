/**
 * The in-process queue of the embedded default (AMQP_URL=memory://), with the semantics of the AMQP
 * one: every `MemoryQueue` with the same queue name is a handle on one broker object, as two
 * connections to one RabbitMQ queue are; jobs are copied through JSON (no shared references), run
 * asynchronously, at most `prefetch` at once per subscription, retried, then dead-lettered.
 * Nothing survives the process.
 */
import { randomUUID } from 'node:crypto';
import { checkConsumeOptions, encodeBody, QueueError, silentLogger, type QueueLogger } from './common.ts';
import type { ConsumeOptions, JobHandler, Queue, Subscription } from './queue.ts';
import type { QueueTopology } from './topology.ts';

interface StoredJob {
  readonly id: string;
  /** The body as JSON: each delivery parses its own copy. */
  readonly payload: string;
  readonly attempt: number;
  readonly redelivered: boolean;
}

interface Delivery {
  readonly job: StoredJob;
  /** Its handle closed while the handler ran: the job went back to the queue, the outcome is ignored. */
  abandoned: boolean;
}

/** One queue and its dead-letter queue, shared by every handle with the same queue name. */
class MemoryBroker {
  readonly ready: StoredJob[] = [];
  readonly deadLetters: StoredJob[] = [];
  readonly consumers: MemorySubscription[] = [];
  handles = 0;
  private nextConsumer = 0;
  private scheduled = false;

  constructor(readonly name: string) {}

  get idle(): boolean {
    return this.handles === 0 && this.ready.length === 0 && this.deadLetters.length === 0;
  }

  /** Dispatches on a later turn of the event loop, never inside the caller (publish, ack). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.ready.length > 0) {
      const consumer = this.freeConsumer();
      if (!consumer) return;
      consumer.deliver(this.ready.shift()!);
    }
  }

  /** Round robin over the subscriptions that have room under their prefetch. */
  private freeConsumer(): MemorySubscription | undefined {
    const count = this.consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (this.nextConsumer + i) % count;
      const consumer = this.consumers[index]!;
      if (consumer.hasRoom()) {
        this.nextConsumer = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  removeConsumer(consumer: MemorySubscription): void {
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
  }
}

/** Brokers by queue name: the process-wide "RabbitMQ" of the in-process queue. */
const brokers = new Map<string, MemoryBroker>();

class MemorySubscription implements Subscription {
  private active = true;
  private readonly inFlight = new Map<Delivery, Promise<void>>();

  constructor(
    private readonly broker: MemoryBroker,
    private readonly handler: JobHandler<unknown>,
    private readonly options: ConsumeOptions,
    private readonly log: QueueLogger,
    private readonly onEnd: (subscription: MemorySubscription) => void,
  ) {}

  hasRoom(): boolean {
    return this.active && this.inFlight.size < this.options.prefetch;
  }

  deliver(job: StoredJob): void {
    const delivery: Delivery = { job, abandoned: false };
    const { maxAttempts } = this.options;
    const run = async (): Promise<void> => {
      // Yield first, so the handler never runs inside the dispatch loop (or a caller of it).
      await Promise.resolve();
      let failure: { err: unknown } | undefined;
      try {
        await this.handler({
          body: JSON.parse(job.payload) as unknown,
          attempt: job.attempt,
          lastAttempt: job.attempt >= maxAttempts,
          redelivered: job.redelivered,
        });
      } catch (err) {
        failure = { err };
      }
      if (delivery.abandoned) return;
      this.inFlight.delete(delivery);
      if (failure) this.failed(job, failure.err);
      this.broker.schedule();
    };
    this.inFlight.set(delivery, run());
  }

  private failed(job: StoredJob, err: unknown): void {
    const { maxAttempts } = this.options;
    if (job.attempt < maxAttempts) {
      this.log.debug({ err, jobId: job.id, attempt: job.attempt }, 'job failed: retrying');
      this.broker.ready.push({
        id: job.id,
        payload: job.payload,
        attempt: job.attempt + 1,
        redelivered: false,
      });
    } else {
      this.log.warn(
        { err, jobId: job.id, attempt: job.attempt },
        'job failed on its last attempt: dead-lettered',
      );
      this.broker.deadLetters.push(job);
    }
  }

  async cancel(): Promise<void> {
    this.stop();
    // No delivery starts after stop(), so these are all the handlers left to wait for.
    await Promise.all(this.inFlight.values());
    // Only now: a handle closed while this waited abandons the jobs still in flight.
    this.onEnd(this);
  }

  /** The handle closed: jobs in flight go back to the front of the queue, marked redelivered. */
  abandon(): void {
    this.stop();
    this.onEnd(this);
    const unacked = [...this.inFlight.keys()];
    this.inFlight.clear();
    for (const delivery of unacked) delivery.abandoned = true;
    this.broker.ready.unshift(...unacked.map(({ job }) => ({ ...job, redelivered: true })));
    this.broker.schedule();
  }

  private stop(): void {
    if (!this.active) return;
    this.active = false;
    this.broker.removeConsumer(this);
  }
}

/** A handle on the in-process queue named `queueName` (the dead-letter queue comes with it). */
export class MemoryQueue implements Queue {
  readonly backend = 'memory' as const;
  private readonly broker: MemoryBroker;
  private closed = false;
  private readonly subscriptions = new Set<MemorySubscription>();

  constructor(
    topology: Pick<QueueTopology, 'queueName'>,
    private readonly log: QueueLogger = silentLogger,
  ) {
    let broker = brokers.get(topology.queueName);
    if (!broker) {
      broker = new MemoryBroker(topology.queueName);
      brokers.set(broker.name, broker);
    }
    broker.handles++;
    this.broker = broker;
  }

  async publish(body: unknown): Promise<void> {
    this.assertOpen();
    const payload = encodeBody(body);
    this.broker.ready.push({ id: randomUUID(), payload, attempt: 1, redelivered: false });
    this.broker.schedule();
  }

  async consume<T>(handler: JobHandler<T>, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    checkConsumeOptions(options);
    const subscription = new MemorySubscription(
      this.broker,
      handler as JobHandler<unknown>,
      { prefetch: options.prefetch, maxAttempts: options.maxAttempts },
      this.log,
      (s) => this.subscriptions.delete(s),
    );
    this.subscriptions.add(subscription);
    this.broker.consumers.push(subscription);
    this.broker.schedule();
    return subscription;
  }

  async deadLetterCount(): Promise<number> {
    this.assertOpen();
    return this.broker.deadLetters.length;
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  /** A dying connection: handlers in flight are not waited for, their jobs are delivered again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of [...this.subscriptions]) subscription.abandon();
    this.broker.handles--;
    if (this.broker.idle && brokers.get(this.broker.name) === this.broker) brokers.delete(this.broker.name);
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('the queue is closed');
  }
}

/**
 * Drops the jobs and dead letters of the in-process queue `queueName` (what deleting the queues
 * is on RabbitMQ); tests use it to leave nothing behind.
 */
export function deleteMemoryQueue(queueName: string): void {
  const broker = brokers.get(queueName);
  if (!broker) return;
  broker.ready.length = 0;
  broker.deadLetters.length = 0;
  if (broker.idle) brokers.delete(queueName);
}
