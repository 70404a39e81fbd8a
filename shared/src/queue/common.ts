/** What the AMQP and in-process queues share: their error type, their logger and option checks. */
import { DependencyUnavailableError } from '../errors.ts';
import type { ConsumeOptions } from './queue.ts';

/**
 * The queue could not do what was asked: the broker is unreachable or did not confirm a job, or the
 * handle is closed. Callers answer 503 (or retry later); it is never the caller's mistake.
 */
export class QueueError extends DependencyUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('queue', message, options);
    this.name = 'QueueError';
  }
}

/**
 * The logging the queues do (connection trouble, reconnects, dead-lettered jobs): a pino logger
 * (or a child of one) fits; without one they log nothing.
 */
export interface QueueLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: QueueLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Throws a RangeError unless `prefetch` and `maxAttempts` are positive integers. */
export function checkConsumeOptions(options: ConsumeOptions): void {
  for (const name of ['prefetch', 'maxAttempts'] as const) {
    const value = options[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
}

/** Serialises a job body; a body JSON cannot represent (undefined, a function) is refused. */
export function encodeBody(body: unknown): string {
  const json = JSON.stringify(body);
  if (json === undefined) throw new TypeError(`a job body must be JSON-serialisable, got ${typeof body}`);
  return json;
}
