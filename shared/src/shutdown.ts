import type { Logger } from './logger.ts';

/**
 * For process entry points: on the first SIGINT or SIGTERM, runs `stop` and exits 0 (1 if it
 * fails). A stop that takes longer than `timeoutMs` is cut short with exit code 1.
 */
export function stopOnSignals(logger: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      const force = setTimeout(() => {
        logger.error('shutdown took too long: exiting');
        process.exit(1);
      }, timeoutMs);
      force.unref();
      stop().then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
