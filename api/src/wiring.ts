import Koa from 'koa';
import {
  AppError,
  SearchTaskStore,
  type Bus,
  type Config,
  type Database,
  type Logger,
  type Queue,
  type Store,
} from '@messenger/shared';
import { AccountDeletionRepository } from './accounts/account-deletion.repository.ts';
import { AccountDeletionService } from './accounts/account-deletion.service.ts';
import { AccountExportRepository } from './accounts/account-export.repository.ts';
import { AccountExportService } from './accounts/account-export.service.ts';
import { accountsHandlers } from './accounts/accounts.handlers.ts';
import { AccountsRepository } from './auth/accounts.repository.ts';
import { resolveActor } from './auth/actor.ts';
import { authHandlers } from './auth/auth.handlers.ts';
import { AuthService } from './auth/auth.service.ts';
import { PasswordHasher } from './auth/password-hasher.ts';
import { SessionsRepository } from './auth/sessions.repository.ts';
import { chatsHandlers } from './chats/chats.handlers.ts';
import { ChatsRepository } from './chats/chats.repository.ts';
import { ChatAccess } from './chats/chat-access.ts';
import { ChatsService } from './chats/chats.service.ts';
import { MembersService } from './chats/members.service.ts';
import { MembershipCache } from './chats/membership-cache.ts';
import { ReadMarkersRepository } from './chats/read-markers.repository.ts';
import { ReadMarkersService } from './chats/read-markers.service.ts';
import { EventHub } from './events/event-hub.ts';
import { EventLog } from './events/event-log.ts';
import { EventPublisher } from './events/event-publisher.ts';
import { EventTickets } from './events/event-tickets.ts';
import { eventsHandlers } from './events/events.handlers.ts';
import { TypingService } from './events/typing.service.ts';
import { directHandlers } from './direct/direct.handlers.ts';
import { DirectService } from './direct/direct.service.ts';
import { createContractRouter, readSpec } from './http/contract.ts';
import { corsFor } from './http/cors.ts';
import type { HandlerMap } from './http/handler-types.ts';
import { jsonBody } from './http/json-body.ts';
import { requestContext } from './http/request-context.ts';
import { Throttle } from './http/throttle.ts';
import { IdempotencyRepository } from './idempotency/idempotency.repository.ts';
import { createIdempotency } from './idempotency/idempotency.ts';
import { HistoryCache } from './messages/history-cache.ts';
import { messagesHandlers } from './messages/messages.handlers.ts';
import { pinsHandlers } from './pins/pins.handlers.ts';
import { PinsRepository } from './pins/pins.repository.ts';
import { PinsService } from './pins/pins.service.ts';
import { reactionsHandlers } from './reactions/reactions.handlers.ts';
import { ReactionsRepository } from './reactions/reactions.repository.ts';
import { ReactionsService } from './reactions/reactions.service.ts';
import { searchHandlers } from './search/search.handlers.ts';
import { SearchService } from './search/search.service.ts';
import { MessagesRepository } from './messages/messages.repository.ts';
import { GroupCommit, postStartWithinMs } from './messages/group-commit.ts';
import { MessagesService } from './messages/messages.service.ts';
import { systemHandlers } from './system/system.handlers.ts';
import { InboxRepository } from './inbox/inbox.repository.ts';
import { inboxHandlers } from './inbox/inbox.handlers.ts';
import { InboxService } from './inbox/inbox.service.ts';
import { UserProfilesRepository } from './users/users.repository.ts';
import { usersHandlers } from './users/users.handlers.ts';
import { UsersService } from './users/users.service.ts';

/**
 * The API's parts put together: repositories, services, the event hub and the handlers of every
 * operation, behind the contract router and the HTTP middleware. What it opens that needs closing
 * comes back in `closers` (and the hub, which App stops first).
 */
export type Closer = { close(): Promise<void> };

export async function buildKoa(
  config: Config,
  database: Database,
  store: Store,
  bus: Bus,
  queue: () => Promise<Queue>,
  logger: Logger,
): Promise<{ koa: Koa; closers: Closer[]; hub: EventHub }> {
  // Set below, once the hub exists; a logout before then has no streams to close.
  let endStreams: (tokenHashes: string[]) => Promise<void> = async () => {};
  const accounts = new AccountsRepository(database.db);
  const auth = new AuthService(
    accounts,
    new SessionsRepository(database.db),
    store,
    {
      sessionTtlSeconds: config.auth.sessionTtlSeconds,
      sessionTouchSeconds: config.auth.sessionTouchSeconds,
      exactNames: config.auth.disabled,
      accountNameGraceDays: config.auth.accountNameGraceDays,
    },
    new PasswordHasher(config.auth.passwordHash),
    logger.child({ component: 'auth' }),
    (tokenHashes) => endStreams(tokenHashes),
  );
  const eventLog = new EventLog(database.db);
  const hub = new EventHub(
    eventLog,
    bus,
    store,
    {
      heartbeatMs: config.events.heartbeatSeconds * 1000,
      pollMs: config.events.pollMs,
      maxStreamsPerUser: config.events.maxStreamsPerUser,
      maxBufferBytes: config.events.maxBufferBytes,
      retentionMs: config.events.retentionHours * 3600_000,
    },
    logger.child({ component: 'events' }),
    (tokenHash) => auth.sessionLeftMs(tokenHash),
  );
  await hub.start();
  endStreams = (tokenHashes) => hub.endSessionsEverywhere(tokenHashes);
  const events = new EventPublisher(eventLog, () => hub.notifyAppended());
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
  const chats = new ChatsService(chatsRepository, access, historyCache, events);
  const members = new MembersService(
    chatsRepository,
    accounts,
    access,
    historyCache,
    config.auth.disabled,
    events,
  );
  const messagesRepository = new MessagesRepository(database.db);
  // Once per statement: the stream hubs read the new events, and no page without them is served.
  const groupCommit = new GroupCommit(
    database.db,
    async (chatIds) => {
      events.committed();
      await Promise.all(chatIds.map((chatId) => historyCache.invalidate(chatId)));
    },
    logger.child({ component: 'messages' }),
    { startWithinMs: postStartWithinMs(config.database) },
  );
  const messages = new MessagesService(messagesRepository, access, historyCache, events, groupCommit);
  const pins = new PinsService(
    new PinsRepository(database.db),
    chatsRepository,
    messagesRepository,
    access,
    events,
  );
  const reactions = new ReactionsService(new ReactionsRepository(database.db), access, historyCache, events);
  const direct = new DirectService(chatsRepository, accounts, messages, events);
  const readMarkers = new ReadMarkersService(new ReadMarkersRepository(database.db), access, events);
  const typing = new TypingService(
    access,
    accounts,
    store,
    (event) => hub.typing(event),
    config.events.typingIntervalSeconds,
  );
  const tickets = new EventTickets(store);
  const search = new SearchService(
    new SearchTaskStore(store, config.search),
    queue,
    config.search.maxPhraseLength,
    logger.child({ component: 'search' }),
  );

  const usersService = new UsersService(new UserProfilesRepository(database.db));
  const accountDeletion = new AccountDeletionService(
    new AccountDeletionRepository(database.db),
    chatsRepository,
    auth,
    access,
    historyCache,
    events,
    config.auth.accountNameGraceDays,
  );
  const accountExport = new AccountExportService(new AccountExportRepository(database.db), usersService);
  const inbox = new InboxService(new InboxRepository(database.db), accounts, config.inbox);

  const spec = readSpec();
  const handlers: HandlerMap = {
    ...systemHandlers(database, store, queue, config.queue.backend, spec.text, () => hub.connected),
    ...authHandlers(auth),
    ...chatsHandlers(chats, members),
    ...pinsHandlers(pins),
    ...messagesHandlers(messages, idempotent),
    ...reactionsHandlers(reactions),
    ...searchHandlers(search),
    ...directHandlers(direct, idempotent),
    ...usersHandlers(usersService),
    ...accountsHandlers(accountDeletion, accountExport),
    ...inboxHandlers(inbox),
    ...eventsHandlers(hub, tickets, readMarkers, typing),
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
    redeemTicket: async (ticket) => {
      const owner = await tickets.redeem(ticket);
      if (!owner) throw new AppError('auth-failed', 'the ticket is unknown, used or expired: get a new one');
      if (!owner.session) return { kind: 'trusted' };
      // The session may have ended since the ticket was issued.
      if ((await auth.sessionLeftMs(owner.session.tokenHash)) === undefined) {
        throw new AppError('invalid-session-id', 'the session of this ticket has ended');
      }
      return {
        kind: 'session',
        userId: owner.userId,
        sessionId: owner.session.id,
        tokenHash: owner.session.tokenHash,
      };
    },
  });

  const koa = new Koa();
  // What Koa reports past the middleware: a response body (an event stream) whose client went away
  // is the normal end of a stream, not an error; anything else goes to the log, not stderr.
  koa.on('error', (err: { code?: unknown }) => {
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') logger.error({ err }, 'response failed');
  });
  koa.use(requestContext(logger));
  const cors = corsFor(config.http.corsOrigins);
  if (cors) koa.use(cors);
  koa.use(jsonBody({ limitBytes: config.http.bodyLimitBytes, maxDepth: config.http.jsonMaxDepth }));
  koa.use(router);
  return { koa, closers: [{ close: () => historyCache.flush() }], hub };
}
