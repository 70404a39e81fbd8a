/**
 * The job queue behind one small interface: RabbitMQ (amqplib), or an in-process queue for the
 * embedded default. Search jobs go through it from the API to the search worker. Nothing above
 * this interface knows which one it has.
 *
 * Semantics both implementations keep:
 * - `publish` resolves only once the job is safely queued (publisher confirms on RabbitMQ) and
 *   rejects when it cannot be; jobs are persistent on a durable queue.
 * - A job is acknowledged only after its handler resolves. A handler that throws has its job
 *   tried again (attempt + 1) until `maxAttempts`, then the job is dead-lettered.
 * - At most `prefetch` jobs run at once per subscription.
 * - `close()` is a dying connection: jobs in flight are not acknowledged and go back to the queue,
 *   to be delivered again (to this or another consumer) with `redelivered: true`.
 */
export interface QueueJob<T> {
  body: T;
  /** 1 on the first delivery, 2 on the first retry, … */
  attempt: number;
  /** True when this is the last attempt: if the handler throws now, the job is dead-lettered. */
  lastAttempt: boolean;
  /** True when an earlier delivery of this same attempt was never acknowledged (its consumer died). */
  redelivered: boolean;
}

export type JobHandler<T> = (job: QueueJob<T>) => Promise<void>;

export interface ConsumeOptions {
  prefetch: number;
  maxAttempts: number;
}

export interface Subscription {
  /** Stops taking new jobs and waits for the ones in flight to finish (and be acknowledged). */
  cancel(): Promise<void>;
}

export interface Queue {
  readonly backend: 'amqp' | 'memory';
  publish(body: unknown): Promise<void>;
  consume<T>(handler: JobHandler<T>, options: ConsumeOptions): Promise<Subscription>;
  /** Jobs waiting in the dead-letter queue (for operators and tests). */
  deadLetterCount(): Promise<number>;
  /** True when the broker answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}
