import { createHash, randomInt } from 'node:crypto';
import type { Logger, Store } from '@messenger/shared';

export interface CachedPage<T> {
  etag: string;
  body: T;
}

/**
 * History pages in the store, keyed by the chat's version. Every post bumps the version, so every
 * cached page of that chat goes stale at once, on every API instance, and a reader never gets a page
 * that misses a message acknowledged before its read began (the bump happens before the 201).
 * When the store does not answer, reads go to the database and nothing is cached. A bump the store
 * could not take (it was frozen or down when a message committed) is retried in the background
 * until it lands, and meanwhile this instance reads that chat from the database: otherwise the
 * store, once back, would still hold the old version and hand out pages without the message.
 */
export class HistoryCache {
  /** Chats whose version bump has not reached the store yet. */
  private readonly unbumped = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = FIRST_RETRY_MS;

  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  /** The chat's current version; `undefined` when the store does not answer. */
  async version(chatId: string): Promise<string | undefined> {
    if (!this.enabled || this.unbumped.has(chatId)) return undefined;
    try {
      const key = versionKey(chatId);
      const current = await this.store.get(key);
      if (current !== null) return current;
      // A version that starts somewhere new, so a key the store lost never revives old pages.
      await this.store.setIfAbsent(key, String(Date.now() * 1000 + randomInt(1000)), 7 * 24 * 3600);
      return (await this.store.get(key)) ?? undefined;
    } catch (err) {
      this.log.warn({ err }, 'history cache unavailable');
      return undefined;
    }
  }

  async get<T>(chatId: string, version: string, page: string): Promise<CachedPage<T> | undefined> {
    try {
      const raw = await this.store.get(pageKey(chatId, version, page));
      return raw ? (JSON.parse(raw) as CachedPage<T>) : undefined;
    } catch {
      return undefined;
    }
  }

  async put<T>(chatId: string, version: string, page: string, body: T): Promise<CachedPage<T>> {
    const cached = { etag: etagOf(body), body };
    await this.store
      .set(pageKey(chatId, version, page), JSON.stringify(cached), this.ttlSeconds)
      .catch((err: unknown) => this.log.warn({ err }, 'could not cache a history page'));
    return cached;
  }

  /** Makes every cached page of the chat stale. */
  async invalidate(chatId: string): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.store.incr(versionKey(chatId));
    } catch (err) {
      // The message is stored: the caller's success stands, and the bump is retried until it lands.
      this.log.warn({ err, chatId }, 'could not invalidate the history cache: retrying in the background');
      this.unbumped.add(chatId);
      this.scheduleRetry();
    }
  }

  /** One last try at the bumps still owed (on shutdown, before the store closes). */
  async flush(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.retryBumps();
    if (this.unbumped.size > 0) {
      this.log.error(
        { chats: [...this.unbumped] },
        'history cache versions not bumped: pages may stay stale up to their TTL',
      );
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryBumps().then(() => {
        if (this.unbumped.size === 0) {
          this.retryDelayMs = FIRST_RETRY_MS;
          return;
        }
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_MS);
        this.scheduleRetry();
      });
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async retryBumps(): Promise<void> {
    for (const chatId of [...this.unbumped]) {
      try {
        await this.store.incr(versionKey(chatId));
        this.unbumped.delete(chatId);
      } catch {
        return;
      }
    }
  }
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

const versionKey = (chatId: string) => `history:version:${chatId}`;
const pageKey = (chatId: string, version: string, page: string) =>
  `history:page:${chatId}:${version}:${page}`;

/** A strong validator of the page's content. */
export function etagOf(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}
