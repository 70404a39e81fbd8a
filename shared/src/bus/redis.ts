import { ReplyError, type Redis } from 'ioredis';
import { Breaker } from '../breaker.ts';
import { redactUrl } from '../config.ts';
import { DependencyUnavailableError } from '../errors.ts';
import {
  busClosedError,
  deliver,
  silentBusLogger,
  type Bus,
  type BusLogger,
  type Unsubscribe,
} from './bus.ts';
import { endClient, openClients, type RedisClientTimeouts } from './redis-clients.ts';

export interface RedisBusOptions extends RedisClientTimeouts {
  /** After a publish timed out on a live connection (a frozen server), publishes fail at once this long. */
  breakerMs: number;
  logger: BusLogger;
}

const DEFAULTS: RedisBusOptions = {
  connectTimeoutMs: 3_000,
  commandTimeoutMs: 1_000,
  breakerMs: 1_000,
  logger: silentBusLogger,
};

interface Subscriber {
  readonly onMessage: (message: string) => void;
}

/** One Redis channel this bus listens to, shared by its subscribers here. */
interface Channel {
  readonly subscribers: Set<Subscriber>;
  /** The SUBSCRIBE that opened it: its subscribers wait for it, and fail with it. */
  readonly subscribed: Promise<void>;
}

/**
 * The production bus, on Redis pub/sub, over two connections (see openClients). Publishes never wait
 * long: each has a timeout, and after one timed out the breaker fails the next ones at once. After
 * the listening connection comes back, this bus subscribes again itself rather than leaving it to
 * ioredis, so that it knows when that is done and can tell the onResubscribed listeners.
 */
export class RedisBus implements Bus {
  readonly backend = 'redis' as const;
  readonly publisher: Redis;
  readonly subscriber: Redis;
  private readonly breaker: Breaker;
  private readonly logger: BusLogger;
  /** By prefixed channel name. */
  private readonly channels = new Map<string, Channel>();
  private readonly resubscribedListeners = new Set<() => void>();
  /** Set once connect() succeeded: a 'ready' after that is a reconnect. */
  private connected = false;
  /** Between losing the subscriptions and getting them back: warn once per loss, not per retry. */
  private lost = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly keyPrefix = '',
    options: Partial<RedisBusOptions> = {},
  ) {
    const { connectTimeoutMs, commandTimeoutMs, breakerMs, logger } = { ...DEFAULTS, ...options };
    this.breaker = new Breaker(breakerMs);
    this.logger = logger;
    const clients = openClients(url, { connectTimeoutMs, commandTimeoutMs });
    this.publisher = clients.publisher;
    this.subscriber = clients.subscriber;
    this.subscriber.on('message', (name: string, message: string) => this.dispatch(name, message));
    this.subscriber.on('close', () => {
      if (!this.connected || this.closed || this.lost) return;
      this.lost = true;
      this.logger.warn({ url: redactUrl(url) }, 'bus: lost the subscriptions; reconnecting');
    });
    this.subscriber.on('ready', () => {
      if (this.connected && !this.closed) void this.resubscribe();
    });
  }

  async connect(): Promise<this> {
    const results = await Promise.allSettled([this.publisher.connect(), this.subscriber.connect()]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      // Otherwise both clients retry forever in the background and keep the process alive.
      this.publisher.disconnect();
      this.subscriber.disconnect();
      throw new DependencyUnavailableError('store', `Redis at ${redactUrl(this.url)} does not answer`, {
        cause: failed.reason,
      });
    }
    this.connected = true;
    return this;
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.closed) throw busClosedError();
    if (this.breaker.open) throw new DependencyUnavailableError('store', 'Redis did not answer a moment ago');
    try {
      await this.publisher.publish(this.keyPrefix + channel, message);
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      // A failure on a live connection is a timeout: the server stopped answering.
      if (this.publisher.status === 'ready') this.breaker.trip();
      throw new DependencyUnavailableError('store', 'Redis does not answer a publish', { cause: err });
    }
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<Unsubscribe> {
    if (this.closed) throw busClosedError();
    const name = this.keyPrefix + channel;
    let entry = this.channels.get(name);
    if (!entry) {
      entry = { subscribers: new Set(), subscribed: this.listen(name) };
      this.channels.set(name, entry);
    }
    const subscriber: Subscriber = { onMessage };
    entry.subscribers.add(subscriber);
    const unsubscribe = (): Promise<void> => this.remove(name, entry, subscriber);
    try {
      await entry.subscribed;
    } catch (err) {
      await unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  onResubscribed(listener: () => void): () => void {
    const own = (): void => listener();
    this.resubscribedListeners.add(own);
    return () => void this.resubscribedListeners.delete(own);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    this.resubscribedListeners.clear();
    await Promise.all([endClient(this.publisher), endClient(this.subscriber)]);
  }

  private async listen(name: string): Promise<void> {
    try {
      await this.subscriber.subscribe(name);
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      throw new DependencyUnavailableError('store', 'Redis does not answer a subscribe', { cause: err });
    }
  }

  /**
   * Drops one subscriber; the last one of a channel unsubscribes it on the server. That is
   * best-effort: when it fails the connection is gone (and a reconnect subscribes only to the channels
   * still wanted) or the server is frozen (and stray messages find no channel here and are dropped).
   */
  private async remove(name: string, entry: Channel, subscriber: Subscriber): Promise<void> {
    if (!entry.subscribers.delete(subscriber) || entry.subscribers.size > 0) return;
    if (this.channels.get(name) !== entry) return;
    this.channels.delete(name);
    if (this.subscriber.status === 'ready') await this.subscriber.unsubscribe(name).catch(() => {});
  }

  private dispatch(name: string, message: string): void {
    const entry = this.channels.get(name);
    if (!entry) return;
    const channel = name.slice(this.keyPrefix.length);
    for (const subscriber of [...entry.subscribers])
      deliver(this.logger, channel, subscriber.onMessage, message);
  }

  private async resubscribe(): Promise<void> {
    const names = [...this.channels.keys()];
    try {
      if (names.length > 0) await this.subscriber.subscribe(...names);
    } catch (err) {
      this.logger.warn({ err }, 'bus: resubscribing failed; reconnecting');
      // Lost again before the answer: the next 'ready' tries again. No answer on a live connection
      // (a frozen server) would bring no 'ready' at all, so that connection is dropped and redone.
      if (this.subscriber.status === 'ready') this.subscriber.disconnect(true);
      return;
    }
    this.lost = false;
    for (const listener of [...this.resubscribedListeners]) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'a bus onResubscribed listener threw');
      }
    }
  }
}
