/** The API process: `make start` / `make run-dev`. */
import { ConfigError, createLogger, loadConfig, redactUrl } from '@messenger/shared';
import { App } from './app.ts';

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

const logger = createLogger(config.logLevel);
let app: App;
let url: string;
try {
  app = await App.create(config, { logger });
  url = await app.start();
} catch (err) {
  logger.fatal({ err }, 'the API could not start');
  process.exit(1);
}
logger.info(
  {
    url,
    database: redactUrl(config.database.url),
    store: redactUrl(config.store.url),
    authDisabled: config.auth.disabled,
  },
  `API listening on ${url} (docs: ${url}/docs)`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A second chance for in-flight requests, then out regardless.
    const force = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs + 5_000);
    force.unref();
    app.stop().then(
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
