import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import Koa from 'koa';
import {
  SearchTaskStore,
  connectDatabase,
  connectQueue,
  connectStore,
  createLogger,
  migrateAtStart,
  type Config,
  type Database,
  type Logger,
  type Queue,
  type Store,
} from '@messenger/shared';
import { startWorker } from '@messenger/consumer';
import { AccountsRepository } from './auth/accounts.repository.ts';
import { resolveActor } from './auth/actor.ts';
import { authHandlers } from './auth/auth.handlers.ts';
import { AuthService } from './auth/auth.service.ts';
import { SessionsRepository } from './auth/sessions.repository.ts';
import { chatsHandlers } from './chats/chats.handlers.ts';
import { ChatsRepository } from './chats/chats.repository.ts';
import { ChatAccess } from './chats/chat-access.ts';
import { ChatsService } from './chats/chats.service.ts';
import { MembersService } from './chats/members.service.ts';
import { MembershipCache } from './chats/membership-cache.ts';
import { directHandlers } from './direct/direct.handlers.ts';
import { DirectService } from './direct/direct.service.ts';
import { createContractRouter, readSpec } from './http/contract.ts';
import { corsFor } from './http/cors.ts';
import type { HandlerMap } from './http/handler-types.ts';
import { jsonBody } from './http/json-body.ts';
import { requestContext } from './http/request-context.ts';
import { explainRefusals } from './http/server-refusals.ts';
import { Throttle } from './http/throttle.ts';
import { IdempotencyCleanup } from './idempotency/idempotency-cleanup.ts';
import { IdempotencyRepository } from './idempotency/idempotency.repository.ts';
import { createIdempotency } from './idempotency/idempotency.ts';
import { HistoryCache } from './messages/history-cache.ts';
import { messagesHandlers } from './messages/messages.handlers.ts';
import { searchHandlers } from './search/search.handlers.ts';
import { SearchService } from './search/search.service.ts';
import { MessagesRepository } from './messages/messages.repository.ts';
import { MessagesService } from './messages/messages.service.ts';
import { systemHandlers } from './system/system.handlers.ts';
import { InboxRepository } from './inbox/inbox.repository.ts';
import { inboxHandlers } from './inbox/inbox.handlers.ts';
import { InboxService } from './inbox/inbox.service.ts';
import { UserProfilesRepository } from './users/users.repository.ts';
import { usersHandlers } from './users/users.handlers.ts';
import { UsersService } from './users/users.service.ts';

/** Backends an app may be handed instead of opening its own (tests share them between apps). */
export interface AppDeps {
  database?: Database;
  store?: Store;
  queue?: Queue;
  logger?: Logger;
  /** Run the search worker in this process (default: only with the in-process queue). */
  runWorker?: boolean;
}

type Closer = { close(): Promise<void> };

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

      const { koa, closers } = await buildKoa(config, database, store, queue.get, logger);
      // Closed first: what the handlers leave behind still needs the store.
      owned.push(...closers);
      const app = new App(config, koa, database, store, logger);
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

async function buildKoa(
  config: Config,
  database: Database,
  store: Store,
  queue: () => Promise<Queue>,
  logger: Logger,
): Promise<{ koa: Koa; closers: Closer[] }> {
  const accounts = new AccountsRepository(database.db);
  const auth = new AuthService(
    accounts,
    new SessionsRepository(database.db),
    store,
    {
      sessionTtlSeconds: config.auth.sessionTtlSeconds,
      sessionTouchSeconds: config.auth.sessionTouchSeconds,
      exactNames: config.auth.disabled,
    },
    logger.child({ component: 'auth' }),
  );
  const cacheLog = logger.child({ component: 'cache' });
  const historyCache = new HistoryCache(store, config.cache.historyTtlSeconds, cacheLog);
  /** Wraps every message-creating handler: `Idempotency-Key` replays (api/src/idempotency/). */
  const idempotent = createIdempotency(
    store,
    new IdempotencyRepository(database.db),
    logger.child({ component: 'idempotency' }),
    { ttlSeconds: config.idempotency.ttlSeconds },
  );
  const chatsRepository = new ChatsRepository(database.db);
  const access = new ChatAccess(
    chatsRepository,
    new MembershipCache(store, config.cache.membershipTtlSeconds, cacheLog),
    config.auth.disabled,
  );
  const chats = new ChatsService(chatsRepository, access, historyCache);
  const members = new MembersService(chatsRepository, accounts, access, historyCache, config.auth.disabled);
  const messages = new MessagesService(new MessagesRepository(database.db), access, historyCache);
  const direct = new DirectService(chatsRepository, accounts, messages);
  const search = new SearchService(
    new SearchTaskStore(store, config.search),
    queue,
    config.search.maxPhraseLength,
    logger.child({ component: 'search' }),
  );

  const usersService = new UsersService(new UserProfilesRepository(database.db));
  const inbox = new InboxService(new InboxRepository(database.db), accounts, config.inbox);

  const spec = readSpec();
  const handlers: HandlerMap = {
    ...systemHandlers(database, store, queue, config.queue.backend, spec.text),
    ...authHandlers(auth),
    ...chatsHandlers(chats, members),
    ...messagesHandlers(messages, idempotent),
    ...searchHandlers(search),
    ...directHandlers(direct, idempotent),
    ...usersHandlers(usersService),
    ...inboxHandlers(inbox),
  };
  const throttle = config.throttling.enabled
    ? new Throttle(config.throttling, store, logger.child({ component: 'throttle' }))
    : undefined;
  const router = await createContractRouter({
    document: spec.document,
    handlers,
    ...(throttle && {
      throttle: (ctx, limitClass, caller, body) => throttle.check(ctx, limitClass, caller, body),
    }),
    authenticate: (ctx) =>
      config.auth.disabled
        ? Promise.resolve({ kind: 'trusted' })
        : auth.authenticate(ctx.get('authorization') || undefined),
    resolveActor: (caller, userIdParam) => resolveActor(caller, userIdParam, accounts),
  });

  const koa = new Koa();
  koa.use(requestContext(logger));
  const cors = corsFor(config.http.corsOrigins);
  if (cors) koa.use(cors);
  koa.use(jsonBody({ limitBytes: config.http.bodyLimitBytes, maxDepth: config.http.jsonMaxDepth }));
  koa.use(router);
  return { koa, closers: [{ close: () => historyCache.flush() }] };
}
