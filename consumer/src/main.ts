/** The search worker process: `npm start -w consumer`, or beside the API in `make start`. */
import {
  connectDatabase,
  withTimeouts,
  connectQueue,
  connectStore,
  createProcessLogger,
  loadConfigOrExit,
  migrateAtStart,
  redactUrl,
  stopOnSignals,
} from '@messenger/shared';
import { startWorker } from './worker.ts';

const config = loadConfigOrExit();
const logger = (await createProcessLogger(config)).child({ process: 'consumer' });
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
  // The worker bounds each search statement itself (SEARCH_TIMEOUT_MS); the client-side timeout
  // only has to catch a server that stopped answering.
  const database = await connectDatabase(
    withTimeouts(config, { statementTimeoutMs: 0, queryTimeoutMs: config.search.timeoutMs + 1_000 }),
  );
  closers.push(() => database.close());
  if (config.migrateOnStart) await migrateAtStart(config, database);
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

stopOnSignals(logger, config.http.shutdownTimeoutMs + 5_000, async () => {
  await worker.stop();
  await closeAll();
});
