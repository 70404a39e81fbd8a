import { Breaker } from '../breaker.ts';
import type { Store } from './store.ts';

interface Entry {
  /** A Buffer when it was written as bytes (Store.set), kept as they are. */
  value: string | Buffer;
  /** epoch ms, or Infinity */
  expiresAt: number;
}

/** The embedded store: one process, nothing persisted. Expired keys are dropped lazily and by a sweep. */
export class MemoryStore implements Store {
  readonly backend = 'memory' as const;
  /** In process: never down, so its breaker never opens. */
  readonly breaker = new Breaker(0);
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  /** koa-ratelimit's counters (its memory driver); swept like the entries once their window is over. */
  private readonly limits = new Map<string, { reset: number }>();
  /** Rosters: each member with the time it was added, and when the roster expires. */
  private readonly rosters = new Map<string, { members: Map<string, number>; expiresAt: number }>();

  constructor(
    private readonly keyPrefix = '',
    sweepIntervalMs = 30_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value.toString() ?? null;
  }

  async getAndTouch(key: string, ttlSeconds: number): Promise<string | null> {
    const entry = this.live(key);
    if (!entry) return null;
    entry.expiresAt = Date.now() + ttlSeconds * 1000;
    return entry.value.toString();
  }

  async getFollowing(
    keys: readonly string[],
    follow: { readonly prefix: string; readonly suffix: string },
  ): Promise<{ values: Array<string | null>; followed: Buffer | null }> {
    const values = keys.map((key) => this.live(key)?.value.toString() ?? null);
    const last = values[values.length - 1];
    const followed = last == null ? null : this.live(`${follow.prefix}${last}${follow.suffix}`)?.value;
    // A copy, as Redis's reply would be: the caller may not change what is stored.
    return { values, followed: followed == null ? null : Buffer.from(followed) };
  }

  async set(key: string, value: string | Buffer, ttlSeconds?: number): Promise<void> {
    const expiresAt = ttlSeconds === undefined ? Infinity : Date.now() + ttlSeconds * 1000;
    // A copy of bytes, as Redis would keep: the caller may reuse its buffer.
    this.entries.set(this.keyPrefix + key, {
      value: typeof value === 'string' ? value : Buffer.from(value),
      expiresAt,
    });
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    await this.set(key, value, ttlSeconds);
    return true;
  }

  async incr(key: string): Promise<number> {
    const entry = this.live(key);
    const next = (entry ? Number(entry.value) : 0) + 1;
    if (!Number.isSafeInteger(next)) throw new Error(`value at ${key} is not an integer`);
    this.entries.set(this.keyPrefix + key, { value: String(next), expiresAt: entry?.expiresAt ?? Infinity });
    return next;
  }

  rateLimitDriver(): { driver: 'memory'; db: Map<string, { reset: number }> } {
    return { driver: 'memory', db: this.limits };
  }

  async addToRoster(key: string, member: string, keep: number, ttlSeconds: number): Promise<string[]> {
    const roster = this.liveRoster(key) ?? { members: new Map<string, number>(), expiresAt: 0 };
    roster.members.delete(member);
    roster.members.set(member, Date.now());
    roster.expiresAt = Date.now() + ttlSeconds * 1000;
    this.rosters.set(this.keyPrefix + key, roster);
    // A Map iterates in insertion order: the oldest first.
    const dropped = [...roster.members.keys()].slice(0, Math.max(0, roster.members.size - keep));
    for (const old of dropped) roster.members.delete(old);
    return dropped;
  }

  async removeFromRoster(key: string, member: string): Promise<void> {
    this.liveRoster(key)?.members.delete(member);
  }

  async del(...keys: string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) {
      if (this.live(key)) removed++;
      this.entries.delete(this.keyPrefix + key);
    }
    return removed;
  }

  async ttl(key: string): Promise<number> {
    const entry = this.live(key);
    if (!entry) return -2;
    if (entry.expiresAt === Infinity) return -1;
    return Math.ceil((entry.expiresAt - Date.now()) / 1000);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.limits.clear();
    this.rosters.clear();
  }

  private liveRoster(key: string) {
    const roster = this.rosters.get(this.keyPrefix + key);
    if (roster && roster.expiresAt <= Date.now()) {
      this.rosters.delete(this.keyPrefix + key);
      return undefined;
    }
    return roster;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(this.keyPrefix + key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(this.keyPrefix + key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const [key, roster] of this.rosters) if (roster.expiresAt <= now) this.rosters.delete(key);
    // koa-ratelimit's `reset` is in epoch seconds
    for (const [key, limit] of this.limits) if (limit.reset * 1000 <= now) this.limits.delete(key);
  }
}
