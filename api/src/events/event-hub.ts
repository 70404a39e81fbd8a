import type { Bus, Logger, Store } from '@messenger/shared';
import { MEMBERSHIP_EVENTS, type EventLog, type LoggedEvent } from './event-log.ts';
import { EventStream, type StreamOwner } from './event-stream.ts';
import { CLOSE_STREAMS_CHANNEL, jsonArray, StreamRoster } from './stream-roster.ts';

/** Bus channels between API instances. */
export const CHANNELS = {
  /** New events are in the log: read them. */
  appended: 'events:appended',
  /** Sessions ended (JSON array of token hashes): close their streams. */
  sessionsEnded: 'events:sessions-ended',
  /** Someone is typing (JSON TypingEvent): relay it, never log it. */
  typing: 'events:typing',
  closeStreams: CLOSE_STREAMS_CHANNEL,
} as const;

export interface HubSettings {
  heartbeatMs: number;
  /** How often the log is read without a notification, should one be lost. */
  pollMs: number;
  maxStreamsPerUser: number;
  maxBufferBytes: number;
  /** Events older than this are deleted (at least a day: resuming is promised for 24 h). */
  retentionMs: number;
}

/** How often the oldest events are deleted. */
const RETENTION_SWEEP_MS = 10 * 60_000;

/** How many events one read takes. */
const BATCH = 500;

/**
 * The stream hub of one API instance: the one reader of the event log here. A notification on the
 * bus (or the poll, should one be lost) makes it read what was appended since its last read, once
 * for all its subscribers, and hand each event to the streams it concerns, in id order. Each stream
 * tracks its user's chats from the membership events themselves, so a stream sees a chat's events
 * exactly while its user is a member.
 */
export class EventHub {
  private readonly streams = new Set<EventStream>();
  private readonly byChat = new Map<string, Set<EventStream>>();
  private readonly byUser = new Map<string, EventStream[]>();
  private readonly catchingUp = new Set<EventStream>();
  /** The newest event handed out; unknown until the database first answers. */
  private position: bigint | undefined;
  private positioning: Promise<void> | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribers: Array<() => Promise<void> | void> = [];
  private stopped = false;
  /** The per-user limit across every instance. */
  private readonly roster: StreamRoster;

  constructor(
    private readonly log: EventLog,
    private readonly bus: Bus,
    /** Where each user's streams on every instance are listed, oldest first (the per-user limit). */
    store: Store,
    private readonly settings: HubSettings,
    private readonly logger: Logger,
    /** Milliseconds the session has left (undefined when it has ended): streams end with it. */
    private readonly sessionLeftMs: (tokenHash: string) => Promise<number | undefined>,
  ) {
    this.roster = new StreamRoster(store, bus, logger, settings.maxStreamsPerUser, () => this.streams);
  }

  /** Subscribes to the bus; the log is read once the database answers (the API starts without it). */
  async start(): Promise<void> {
    this.unsubscribers.push(
      await this.bus.subscribe(CHANNELS.appended, () => this.readNew()),
      await this.bus.subscribe(CHANNELS.sessionsEnded, (m) => this.endSessions(m)),
      await this.bus.subscribe(CHANNELS.typing, (m) => this.relayTyping(m)),
      await this.bus.subscribe(CHANNELS.closeStreams, (m) => this.roster.closeListed(m)),
      this.bus.onResubscribed(() => this.readNew()),
    );
    this.timers.push(
      setInterval(() => this.readNew(), this.settings.pollMs),
      setInterval(() => this.heartbeat(), this.settings.heartbeatMs),
      setInterval(() => void this.deleteExpired(), RETENTION_SWEEP_MS),
    );
    for (const timer of this.timers) timer.unref();
  }

  /** Streams connected to this instance now. */
  get connected(): number {
    return this.streams.size;
  }

  /** Tells every instance that events were appended (after their transaction committed). */
  notifyAppended(): void {
    this.bus
      .publish(CHANNELS.appended, '')
      .catch((err: unknown) =>
        this.logger.warn({ err }, 'could not announce new events; the poll will find them'),
      );
  }

  /** Tells every instance to close the streams of these sessions. */
  async endSessionsEverywhere(tokenHashes: string[]): Promise<void> {
    if (tokenHashes.length === 0) return;
    this.endSessions(JSON.stringify(tokenHashes));
    await this.bus.publish(CHANNELS.sessionsEnded, JSON.stringify(tokenHashes));
  }

  /** Relays a typing event to the chat's other members on every instance. */
  async typing(event: { chat_id: string; user_id: string; user_name: string }): Promise<void> {
    await this.bus.publish(CHANNELS.typing, JSON.stringify(event));
  }

  /**
   * Opens a stream for the owner, resuming after `cursor` when given: the events it missed first,
   * then the live ones. Registered before the replay reads the log, so nothing appended meanwhile
   * is missed: it waits in the stream's `pending` until the replay is done.
   */
  async open(owner: StreamOwner, cursor: bigint | 'unknown' | undefined): Promise<EventStream> {
    // Before the stream's own snapshot, so the hub hands it everything after that snapshot.
    await this.ensurePosition();
    const stream = new EventStream(owner, this.settings.maxBufferBytes, (s) => this.forget(s));
    this.streams.add(stream);
    this.catchingUp.add(stream);
    const own = this.byUser.get(owner.userId) ?? [];
    own.push(stream);
    this.byUser.set(owner.userId, own);
    // The oldest of a user's streams goes when they open one too many (end() forgets it): here at
    // once, and on every instance through the roster in the store.
    for (const oldest of own.slice(0, Math.max(0, own.length - this.settings.maxStreamsPerUser)))
      oldest.end();
    void this.roster.add(stream);
    try {
      await this.replay(stream, cursor);
    } catch (err) {
      stream.end();
      throw err;
    }
    if (stream.isClosed) return stream;
    for (const event of stream.pending ?? []) this.apply(stream, event);
    stream.pending = undefined;
    this.catchingUp.delete(stream);
    for (const chatId of stream.chats) this.index(stream, chatId);
    if (owner.session) void this.watchSession(stream, owner.session.tokenHash);
    return stream;
  }

  /** Ends every stream and stops reading (SIGTERM): clients reconnect to another instance. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const stream of [...this.streams]) stream.end();
    for (const unsubscribe of this.unsubscribers) await Promise.resolve(unsubscribe()).catch(() => {});
    await this.reading;
  }

  private async replay(stream: EventStream, cursor: bigint | 'unknown' | undefined): Promise<void> {
    const userId = stream.owner.userId;
    const snap = await this.log.snapshot(userId);
    const startFresh = () => {
      for (const chatId of snap.chatIds) stream.chats.add(chatId);
      stream.position = snap.head;
    };
    if (cursor === undefined) return startFresh();
    if (cursor === 'unknown' || cursor > snap.head) {
      startFresh();
      return stream.resync('cursor-unknown', snap.head);
    }
    if (snap.oldest > 0n && cursor < snap.oldest - 1n) {
      startFresh();
      return stream.resync('cursor-too-old', snap.head);
    }
    // The chats as of the cursor: today's, with the membership changes since then undone.
    const changes = await this.log.membershipChanges(cursor, snap.head, userId);
    const chats = new Set(snap.chatIds);
    for (const change of [...changes].reverse()) {
      if (change.type === 'chat.created' || change.type === 'chat.member_added') chats.delete(change.chatId);
      else chats.add(change.chatId);
    }
    for (const chatId of chats) stream.chats.add(chatId);
    const relevant = [...new Set([...chats, ...changes.map((c) => c.chatId)])];
    stream.position = cursor;
    for (let after = cursor; ;) {
      const batch = await this.log.forUser(after, snap.head, relevant, userId, BATCH);
      for (const event of batch) this.apply(stream, event);
      if (batch.length < BATCH || stream.isClosed) break;
      after = batch.at(-1)!.id;
    }
    if (!stream.isClosed && stream.position < snap.head) stream.position = snap.head;
  }

  /** Reads what was appended since the last read; one read at a time, again if asked meanwhile. */
  private readNew(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = (async () => {
      await this.ensurePosition();
      do {
        this.readAgain = false;
        for (;;) {
          const batch = await this.log.after(this.position!, BATCH);
          for (const event of batch) this.dispatch(event);
          if (batch.length > 0) this.position = batch.at(-1)!.id;
          if (batch.length < BATCH) break;
        }
      } while (this.readAgain && !this.stopped);
    })()
      .catch((err: unknown) => this.logger.warn({ err }, 'could not read the event log; will retry'))
      .finally(() => {
        this.reading = undefined;
      });
  }

  /** Where the hub starts reading: the log's head, read once (again after a failure). */
  private ensurePosition(): Promise<void> {
    this.positioning ??= this.log.head().then(
      (head) => {
        this.position = head;
      },
      (err: unknown) => {
        this.positioning = undefined;
        throw err;
      },
    );
    return this.positioning;
  }

  private dispatch(event: LoggedEvent): void {
    for (const stream of this.catchingUp) stream.pending?.push(event);
    const concerned = new Set<EventStream>();
    for (const userId of event.userIds ?? []) {
      for (const stream of this.byUser.get(userId) ?? [])
        if (!this.catchingUp.has(stream)) concerned.add(stream);
    }
    for (const stream of this.byChat.get(event.chatId) ?? []) concerned.add(stream);
    for (const stream of concerned) this.apply(stream, event);
  }

  /** One event for one stream, in id order: written or skipped, and the stream's chats kept. */
  private apply(stream: EventStream, event: LoggedEvent): void {
    if (event.id <= stream.position || stream.isClosed) return;
    const live = !this.catchingUp.has(stream);
    const named = event.userIds?.includes(stream.owner.userId) ?? false;
    if (named && MEMBERSHIP_EVENTS.has(event.type)) {
      const joins = event.type === 'chat.created' || event.type === 'chat.member_added';
      if (joins) {
        stream.chats.add(event.chatId);
        if (live) this.index(stream, event.chatId);
      }
      stream.send(event);
      if (!joins) {
        stream.chats.delete(event.chatId);
        if (live) this.unindex(stream, event.chatId);
      }
      return;
    }
    if (event.type === 'chat.read') {
      // To the reader's other sessions only.
      if (named && event.originSession !== stream.owner.session?.id) stream.send(event);
      else stream.position = event.id;
      return;
    }
    // A message that mentions the stream's user is marked so on their stream only.
    if (stream.chats.has(event.chatId)) stream.send(event, named && event.type === 'message.created');
    else stream.position = event.id;
  }

  private index(stream: EventStream, chatId: string): void {
    let set = this.byChat.get(chatId);
    if (!set) this.byChat.set(chatId, (set = new Set()));
    set.add(stream);
  }

  private unindex(stream: EventStream, chatId: string): void {
    const set = this.byChat.get(chatId);
    set?.delete(stream);
    if (set?.size === 0) this.byChat.delete(chatId);
  }

  private forget(stream: EventStream): void {
    this.roster.remove(stream);
    this.streams.delete(stream);
    this.catchingUp.delete(stream);
    for (const chatId of stream.chats) this.unindex(stream, chatId);
    const own = this.byUser.get(stream.owner.userId);
    if (own) {
      const rest = own.filter((s) => s !== stream);
      if (rest.length > 0) this.byUser.set(stream.owner.userId, rest);
      else this.byUser.delete(stream.owner.userId);
    }
  }

  private endSessions(message: string): void {
    const ended = new Set(jsonArray(message));
    for (const stream of [...this.streams]) {
      if (stream.owner.session && ended.has(stream.owner.session.tokenHash)) stream.end();
    }
  }

  private relayTyping(message: string): void {
    let event: { chat_id?: unknown; user_id?: unknown };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    if (typeof event.chat_id !== 'string') return;
    for (const stream of this.byChat.get(event.chat_id) ?? []) {
      if (stream.owner.userId !== event.user_id) stream.sendEphemeral('typing', message);
    }
  }

  /** Every instance sweeps; a delete of rows another one deleted finds nothing. */
  private async deleteExpired(): Promise<void> {
    try {
      const deleted = await this.log.deleteOlderThan(new Date(Date.now() - this.settings.retentionMs));
      if (deleted > 0) this.logger.debug({ deleted }, 'old events deleted');
    } catch (err) {
      this.logger.warn({ err }, 'could not delete old events');
    }
  }

  private heartbeat(): void {
    for (const stream of this.streams) stream.heartbeat();
  }

  /** Ends the stream when its session expires (a logout ends it through the bus at once). */
  private async watchSession(stream: EventStream, tokenHash: string): Promise<void> {
    while (!stream.isClosed && !this.stopped) {
      let left: number | undefined;
      try {
        left = await this.sessionLeftMs(tokenHash);
      } catch (err) {
        // The store and the database do not answer: look again later rather than end the stream.
        this.logger.warn({ err }, 'could not check a stream session');
        left = this.settings.heartbeatMs;
      }
      if (left === undefined || left <= 0) return stream.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise((resolve) => (timer = setTimeout(resolve, Math.min(left, 60_000) + 50))),
        stream.ended,
      ]);
      clearTimeout(timer);
    }
  }
}
