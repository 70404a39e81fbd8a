import { AppError, type ChatRow } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import { isWellFormedId } from '../paging/ids.ts';
import type { ChatsRepository, Role } from './chats.repository.ts';
import type { MembershipCache } from './membership-cache.ts';

/** A membership answer the caller already read from the store (undefined: not cached there). */
export interface Prefetched {
  readonly member: boolean | undefined;
}

/**
 * Who may act on a chat: every chat resource asks here first. Membership answers come from the
 * cache when it has them, so a cached history read touches no database.
 */
export class ChatAccess {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly membership: MembershipCache,
    private readonly authDisabled: boolean,
  ) {}

  /** The chat, or 404 `chat-not-found` for an unknown or malformed id. */
  async requireChat(chatId: string): Promise<ChatRow> {
    const chat = isWellFormedId(chatId) ? await this.chats.findById(chatId) : undefined;
    if (!chat) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    return chat;
  }

  /**
   * The acting member of the chat: answers their id. Without a session the original API names an
   * unknown chat before an unknown user, so the chat is looked for first.
   */
  async requireActingMember(actor: Actor, chatId: string): Promise<string> {
    if (!actor.hasSession) await this.requireChat(chatId);
    const userId = actor.id;
    await this.requireChatMember(chatId, userId);
    return userId;
  }

  /**
   * As requireActingMember, for reads a trusted client may make without naming a user (the original
   * API's history): answers undefined then. `prefetched`: the reader's membership as the store had
   * it, read together with other keys (see membershipKey).
   */
  async requireReaderIfNamed(
    actor: Actor,
    chatId: string,
    prefetched?: Prefetched,
  ): Promise<string | undefined> {
    if (!actor.hasSession) await this.requireChat(chatId);
    const userId = actor.idIfNamed;
    if (userId !== undefined) await this.requireChatMember(chatId, userId, prefetched);
    return userId;
  }

  /** The store key of the user's membership, to read it in one trip with others; undefined when not cached. */
  membershipKey(chatId: string, userId: string): string | undefined {
    return isWellFormedId(chatId) ? this.membership.keyOf(chatId, userId) : undefined;
  }

  /** The chat exists and the user is in it; a cached "member" implies the chat. */
  async requireChatMember(chatId: string, userId: string, prefetched?: Prefetched): Promise<void> {
    const cached = prefetched ? prefetched.member : await this.membership.get(chatId, userId);
    if (cached === true) return;
    await this.requireChat(chatId);
    // The store was read once already: a miss goes to the database, not to the store again.
    await this.checkMember(chatId, userId, cached);
  }

  /** The user is a member of the chat (which is known to exist). */
  async requireMember(chatId: string, userId: string): Promise<void> {
    await this.checkMember(chatId, userId, await this.membership.get(chatId, userId));
  }

  private async checkMember(chatId: string, userId: string, cached: boolean | undefined): Promise<void> {
    let member = cached;
    if (member === undefined) {
      member = (await this.chats.currentRole(chatId, userId)) !== undefined;
      await this.membership.set(chatId, userId, member);
    }
    if (!member) throw this.notAMember(chatId, userId);
  }

  /** The user's role in the chat now (read from the database, never the cache). */
  roleOf(chatId: string, userId: string): Promise<Role | undefined> {
    return this.chats.currentRole(chatId, userId);
  }

  /** Writes a membership change through, so the next check on every instance sees it. */
  async remember(chatId: string, userId: string, member: boolean): Promise<void> {
    await this.membership.set(chatId, userId, member);
  }

  /**
   * Only members may act on a chat: 403 for a logged-in stranger; in AUTH_DISABLED mode the
   * original API's 404 `user-not-found`.
   */
  notAMember(chatId: string, userId: string): AppError {
    return this.authDisabled
      ? new AppError('user-not-found', `user "${userId}" is not a member of chat "${chatId}"`)
      : new AppError('forbidden', 'you are not a member of this chat');
  }
}
