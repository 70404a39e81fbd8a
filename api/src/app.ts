import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type Koa from 'koa';
import {
  connectBus,
  connectDatabase,
  connectQueue,
  connectStore,
  createLogger,
  migrateAtStart,
  type Bus,
  type Config,
  type Database,
  type Logger,
  type Queue,
  type Store,
} from '@messenger/shared';
import { startWorker } from '@messenger/consumer';
import type { EventHub } from './events/event-hub.ts';
import { explainRefusals } from './http/server-refusals.ts';
import { IdempotencyCleanup } from './idempotency/idempotency-cleanup.ts';
import { IdempotencyRepository } from './idempotency/idempotency.repository.ts';
import { buildKoa, type Closer } from './wiring.ts';

/** Backends an app may be handed instead of opening its own (tests share them between apps). */
export interface AppDeps {
  database?: Database;
  store?: Store;
  queue?: Queue;
  bus?: Bus;
  logger?: Logger;
  /** Run the search worker in this process (default: only with the in-process queue). */
  runWorker?: boolean;
}

/**
 * The API service: builds the Koa app from a frozen config, opens what it needs, and stops in
 * order (HTTP intake, in-flight requests, then the store and the database).
 */
export class App {
  private server: Server | undefined;
  private stopping = false;
  /** The request handlers running now: stop() waits for them before it closes the backends. */
  private readonly handling = new Set<Promise<void>>();
  /** Closed in reverse order of opening when the app stops. */
  private readonly owned: Closer[] = [];

  private constructor(
    readonly config: Config,
    readonly koa: Koa,
    readonly database: Database,
    readonly store: Store,
    readonly logger: Logger,
    /** Event streams end first on stop: they would hold their connections open to the deadline. */
    readonly hub: EventHub,
  ) {}

  static async create(config: Config, deps: AppDeps = {}): Promise<App> {
    const logger = deps.logger ?? createLogger(config.logLevel);
    const owned: Closer[] = [];
    try {
      const database = deps.database ?? (await connectDatabase(config));
      if (!deps.database) owned.push(database);
      if (config.migrateOnStart) {
        const applied = await migrateAtStart(config, database);
        if (applied.length > 0) logger.info({ applied }, 'migrations applied');
      }
      const store = deps.store ?? (await connectStore(config));
      if (!deps.store) owned.push(store);
      const queue = lazyQueue(config, logger, deps.queue);
      owned.push(queue);

      if (deps.runWorker ?? config.queue.backend === 'memory') {
        // The embedded default: no separate consumer process, so the API runs the worker itself.
        const worker = await startWorker({ database, store, queue: await queue.get(), config, logger });
        owned.push({ close: () => worker.stop() });
      }

      // Expired Idempotency-Key records leave PostgreSQL on a timer; closed before the database.
      owned.push(
        new IdempotencyCleanup(
          new IdempotencyRepository(database.db),
          logger.child({ component: 'idempotency' }),
          { intervalSeconds: config.idempotency.cleanupIntervalSeconds },
        ),
      );

      const bus = deps.bus ?? (await connectBus(config, logger.child({ component: 'bus' })));
      if (!deps.bus) owned.push(bus);

      const { koa, closers, hub } = await buildKoa(config, database, store, bus, queue.get, logger);
      // Closed first: what the handlers leave behind still needs the store.
      owned.push(...closers);
      const app = new App(config, koa, database, store, logger, hub);
      app.owned.push(...owned.reverse());
      return app;
    } catch (err) {
      for (const resource of owned.reverse()) await resource.close().catch(() => {});
      throw err;
    }
  }

  /** Starts listening; answers the base URL. */
  async start(): Promise<string> {
    const callback = this.koa.callback();
    const server = createServer((req, res) => {
      // While stopping, each response closes its connection, so keep-alive clients let go at once.
      if (this.stopping) res.setHeader('Connection', 'close');
      // Koa's handler settles when the middleware is done, whether or not the client is still there.
      const handling = Promise.resolve(callback(req, res)).catch(() => {});
      this.handling.add(handling);
      void handling.finally(() => this.handling.delete(handling));
    });
    // Slow clients must not hold sockets forever.
    server.headersTimeout = 15_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    explainRefusals(server, this.logger);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the app is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  }

  /**
   * Stops taking requests and lets every running handler finish (SHUTDOWN_TIMEOUT_MS at most), and
   * only then closes the backends: a handler that has committed a message still bumps the history
   * cache's version. `server.close()` alone is not enough: it waits for sockets, not handlers, and a
   * client that hangs up leaves its handler running.
   */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.stopping = true;
    await this.hub.stop();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections go as soon as their in-flight request is answered.
      server.closeIdleConnections();
      const reaper = setInterval(() => server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.config.http.shutdownTimeoutMs);
      });
      await Promise.race([Promise.all([closed, this.idle()]), deadline]);
      clearTimeout(timer);
      clearInterval(reaper);
      server.closeAllConnections();
      if (this.handling.size > 0) {
        this.logger.warn({ running: this.handling.size }, 'shutdown timeout: closing under running handlers');
      }
    }
    for (const resource of this.owned.splice(0)) await resource.close().catch(() => {});
  }

  /** Resolves when no handler is running (new ones may start while it waits; it waits for them too). */
  private async idle(): Promise<void> {
    while (this.handling.size > 0) await Promise.all([...this.handling]);
  }
}

/**
 * The queue, connected on first use and again after a failed attempt, so the API starts (and serves
 * everything but new searches) while the broker is down.
 */
function lazyQueue(config: Config, logger: Logger, given?: Queue): Closer & { get: () => Promise<Queue> } {
  let connecting: Promise<Queue> | undefined = given && Promise.resolve(given);
  return {
    get: () => {
      connecting ??= connectQueue(config, logger).catch((err: unknown) => {
        connecting = undefined;
        throw err;
      });
      return connecting;
    },
    close: async () => {
      if (given || !connecting) return;
      const queue = await connecting.catch(() => undefined);
      await queue?.close();
    },
  };
}
