import type { Logger } from '@messenger/shared';
import type { IdempotencyRepository } from './idempotency.repository.ts';

export interface CleanupOptions {
  /** How often a sweep runs (IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS). */
  intervalSeconds: number;
  /** Rows one DELETE removes: short statements, short locks. */
  batchSize?: number;
  /** Batches one sweep runs at most; what is left waits for the next sweep. */
  maxBatches?: number;
}

/**
 * Deletes expired Idempotency-Key records from PostgreSQL on a timer, in bounded batches. Every API
 * instance runs one; they skip each other's rows. The timer never keeps the process alive, and a
 * sweep that fails (the database is away) logs and waits for the next tick.
 */
export class IdempotencyCleanup {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<unknown> | undefined;
  private readonly batchSize: number;
  private readonly maxBatches: number;

  constructor(
    private readonly keys: IdempotencyRepository,
    private readonly log: Logger,
    options: CleanupOptions,
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxBatches = options.maxBatches ?? 100;
    this.timer = setInterval(() => {
      // A sweep still running (a slow database) is not overtaken by the next one.
      this.running ??= this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'could not delete expired idempotency keys'))
        .finally(() => (this.running = undefined));
    }, options.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Deletes expired records, at most `maxBatches` batches; answers how many it deleted. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < this.maxBatches; batch++) {
      const n = await this.keys.deleteExpired(this.batchSize);
      deleted += n;
      if (n < this.batchSize) break;
    }
    if (deleted > 0) this.log.debug({ deleted }, 'expired idempotency keys deleted');
    return deleted;
  }

  /** Stops the timer and waits for a sweep in progress, so the database closes after it. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
