/** The search worker process: `npm start -w consumer`, or beside the API in `make start`. */
import {
  ConfigError,
  connectDatabase,
  connectQueue,
  connectStore,
  createLogger,
  loadConfig,
  migrate,
  redactUrl,
} from '@messenger/shared';
import { startWorker } from './worker.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger(config.logLevel).child({ process: 'consumer' });
if (config.queue.backend !== 'amqp') {
  logger.fatal('the consumer needs AMQP_URL=amqp://…; with memory:// the API runs the worker itself');
  process.exit(2);
}

const closers: Array<() => Promise<void>> = [];
const closeAll = async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
};
let worker;
try {
  const database = await connectDatabase(config);
  closers.push(() => database.close());
  if (config.migrateOnStart) await migrate(database);
  const store = await connectStore(config);
  closers.push(() => store.close());
  const queue = await connectQueue(config, logger);
  closers.push(() => queue.close());
  worker = await startWorker({ database, store, queue, config, logger });
  logger.info({ amqp: redactUrl(config.queue.url), queue: config.queue.queueName }, 'consumer running');
} catch (err) {
  logger.fatal({ err }, 'the consumer could not start');
  await closeAll();
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), config.http.shutdownTimeoutMs + 5_000);
    force.unref();
    worker
      .stop()
      .then(closeAll)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}
