import {
  busClosedError,
  deliver,
  silentBusLogger,
  type Bus,
  type BusLogger,
  type Unsubscribe,
} from './bus.ts';

/** One subscribe() call: an object of its own, so the same function subscribed twice hears twice. */
interface Subscriber {
  readonly onMessage: (message: string) => void;
}

/** Subscribers by prefixed channel name: what a Redis server is to the Redis bus. */
export type MemoryHub = Map<string, Set<Subscriber>>;

/**
 * The hub of this process. Every MemoryBus shares it by default, so that two of them with the same
 * key prefix hear each other as two API processes on one Redis do, and different prefixes stay apart.
 */
const processHub: MemoryHub = new Map();

/**
 * The embedded bus (REDIS_URL=memory://): one process, nothing kept. It never loses a connection, so
 * it never calls onResubscribed listeners.
 */
export class MemoryBus implements Bus {
  readonly backend = 'memory' as const;
  private readonly own = new Map<Subscriber, string>();
  private closed = false;

  constructor(
    private readonly keyPrefix = '',
    private readonly logger: BusLogger = silentBusLogger,
    private readonly hub: MemoryHub = processHub,
  ) {}

  async publish(channel: string, message: string): Promise<void> {
    if (this.closed) throw busClosedError();
    const key = this.keyPrefix + channel;
    const listeners = this.hub.get(key);
    if (!listeners) return;
    // The subscribers at the time of publishing, as Redis would have it; each is reached later, on
    // its own turn of the event loop (setImmediate runs in order, so the channel's order holds).
    const snapshot = [...listeners];
    setImmediate(() => {
      const current = this.hub.get(key);
      for (const subscriber of snapshot) {
        if (current?.has(subscriber)) deliver(this.logger, channel, subscriber.onMessage, message);
      }
    });
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<Unsubscribe> {
    if (this.closed) throw busClosedError();
    const key = this.keyPrefix + channel;
    const subscriber: Subscriber = { onMessage };
    let listeners = this.hub.get(key);
    if (!listeners) this.hub.set(key, (listeners = new Set()));
    listeners.add(subscriber);
    this.own.set(subscriber, key);
    return async () => this.remove(subscriber);
  }

  onResubscribed(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const subscriber of [...this.own.keys()]) this.remove(subscriber);
  }

  private remove(subscriber: Subscriber): void {
    const key = this.own.get(subscriber);
    if (key === undefined) return;
    this.own.delete(subscriber);
    const listeners = this.hub.get(key);
    listeners?.delete(subscriber);
    if (listeners?.size === 0) this.hub.delete(key);
  }
}
