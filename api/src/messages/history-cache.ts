import { createHash, randomInt } from 'node:crypto';
import { OwedWrites, type Logger, type Store } from '@messenger/shared';

/**
 * A history page as it goes on the wire: the exact bytes of its JSON body and their ETag. A cache
 * hit is sent as it is, never parsed and serialised again (that was most of a hit's CPU).
 */
export interface CachedPage {
  readonly etag: string;
  /** the response body, JSON */
  readonly bytes: Buffer;
}

/** What one store round trip brought for a read (see lookup). */
export interface Lookup {
  /** The chat's version; undefined when the cache is off or the store does not answer. */
  readonly version: string | undefined;
  /** The page under that version, when it is cached. */
  readonly page: CachedPage | undefined;
  /** The values of the keys read alongside; undefined when they were not read. */
  readonly alongside: ReadonlyArray<string | null> | undefined;
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
  private readonly unbumped = new OwedWrites();

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

  /**
   * In one store round trip: the chat's version, the page `pageId` under it, and the values of
   * `alongside` (keys the same request needs next, such as the reader's membership). A chat whose
   * version is not in the store yet gets one (a rare second trip).
   */
  async lookup(chatId: string, pageId: string, alongside: readonly string[] = []): Promise<Lookup> {
    const none: Lookup = { version: undefined, page: undefined, alongside: undefined };
    if (!this.enabled || this.unbumped.has(chatId)) return none;
    let read: Awaited<ReturnType<Store['getFollowing']>>;
    try {
      read = await this.store.getFollowing([...alongside, versionKey(chatId)], {
        prefix: `${pagePrefix(chatId)}`,
        suffix: `:${pageId}`,
      });
    } catch (err) {
      this.log.warn({ err }, 'history cache unavailable');
      return none;
    }
    const values = read.values.slice(0, alongside.length);
    const version = read.values[alongside.length] ?? (await this.version(chatId));
    return { version, page: read.followed ? decode(read.followed) : undefined, alongside: values };
  }

  /** A cached page; undefined when it is not cached or the store does not answer. */
  async get(chatId: string, version: string, pageId: string): Promise<CachedPage | undefined> {
    try {
      const raw = await this.store.get(pageKey(chatId, version, pageId));
      return raw === null ? undefined : decode(Buffer.from(raw));
    } catch {
      return undefined;
    }
  }

  /** Serialises a page once, caches its bytes under the version, and answers them. */
  async put(chatId: string, version: string, pageId: string, body: unknown): Promise<CachedPage> {
    const page = toCachedPage(body);
    // As bytes: decoding the body to a string and the store client encoding it again cost ~5 % of
    // an uncached read's CPU, for a 20 KB page that is never looked at here.
    const stored = Buffer.concat([Buffer.from(`${page.etag}\n`), page.bytes]);
    await this.store
      .set(pageKey(chatId, version, pageId), stored, this.ttlSeconds)
      .catch((err: unknown) => this.log.warn({ err }, 'could not cache a history page'));
    return page;
  }

  /** Makes every cached page of the chat stale. */
  async invalidate(chatId: string): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.store.incr(versionKey(chatId));
    } catch (err) {
      // The message is stored: the caller's success stands, and the bump is retried until it lands.
      this.log.warn({ err, chatId }, 'could not invalidate the history cache: retrying in the background');
      this.unbumped.owe(chatId, () => this.store.incr(versionKey(chatId)));
    }
  }

  /** One last try at the bumps still owed (on shutdown, before the store closes). */
  async flush(): Promise<void> {
    await this.unbumped.flush();
    if (this.unbumped.keys.length > 0) {
      this.log.error(
        { chats: this.unbumped.keys },
        'history cache versions not bumped: pages may stay stale up to their TTL',
      );
    }
  }
}

const versionKey = (chatId: string) => `history:version:${chatId}`;
const pagePrefix = (chatId: string) => `history:page:${chatId}:`;
const pageKey = (chatId: string, version: string, page: string) => `${pagePrefix(chatId)}${version}:${page}`;

/** A stored page is its ETag, a newline, and the body's bytes. */
function decode(stored: Buffer): CachedPage | undefined {
  const newline = stored.indexOf(0x0a);
  if (newline < 0) return undefined;
  return { etag: stored.subarray(0, newline).toString(), bytes: stored.subarray(newline + 1) };
}

/** A page body serialised once, with the ETag of exactly those bytes. */
export function toCachedPage(body: unknown): CachedPage {
  const bytes = Buffer.from(JSON.stringify(body));
  return { etag: etagOf(bytes), bytes };
}

/** A strong validator of the page's content: a hash of its bytes (encoded once, hashed as they are). */
function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}
