/** The API process: `make start` / `make run-dev`. */
import { createProcessLogger, loadConfigOrExit, redactUrl, stopOnSignals } from '@messenger/shared';
import { App } from './app.ts';

const config = loadConfigOrExit();

const logger = await createProcessLogger(config);
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

// In-flight requests get SHUTDOWN_TIMEOUT_MS (App.stop); the process a few seconds more, then out regardless.
stopOnSignals(logger, config.http.shutdownTimeoutMs + 5_000, () => app.stop());
