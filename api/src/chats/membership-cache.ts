import type { Logger, Store } from '@messenger/shared';

/**
 * Membership checks in the store: every read and post asks "is this user in this chat?". A change
 * of membership writes through, so a cached answer is never wrong for longer than a store outage.
 */
export class MembershipCache {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  /** true / false when known, undefined when not cached (or the store does not answer). */
  async get(chatId: string, userId: string): Promise<boolean | undefined> {
    if (this.ttlSeconds === 0) return undefined;
    try {
      return MembershipCache.parse(await this.store.get(key(chatId, userId)));
    } catch {
      return undefined;
    }
  }

  /** The store key of one membership answer, for a caller that reads it with other keys; undefined when off. */
  keyOf(chatId: string, userId: string): string | undefined {
    return this.ttlSeconds === 0 ? undefined : key(chatId, userId);
  }

  /** A value read under keyOf, as get answers it. */
  static parse(value: string | null | undefined): boolean | undefined {
    return value == null ? undefined : value === '1';
  }

  async set(chatId: string, userId: string, member: boolean): Promise<void> {
    if (this.ttlSeconds === 0) return;
    await this.store
      .set(key(chatId, userId), member ? '1' : '0', this.ttlSeconds)
      .catch((err: unknown) => this.log.warn({ err }, 'could not cache a membership'));
  }
}

const key = (chatId: string, userId: string) => `member:${chatId}:${userId}`;
