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
 * When the store does not answer, reads go to the database and nothing is cached.
 */
export class HistoryCache {
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
    if (!this.enabled) return undefined;
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
      // The message is stored; cached pages of this chat expire within the TTL.
      this.log.error({ err, chatId }, 'could not invalidate the history cache');
    }
  }
}

const versionKey = (chatId: string) => `history:version:${chatId}`;
const pageKey = (chatId: string, version: string, page: string) =>
  `history:page:${chatId}:${version}:${page}`;

/** A strong validator of the page's content. */
export function etagOf(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}
