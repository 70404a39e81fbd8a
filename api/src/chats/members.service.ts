import { AppError } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import type { AccountsRepository } from '../auth/accounts.repository.ts';
import type { ChatMember, ChatMemberPage } from '../schemas.ts';
import type { HistoryCache } from '../messages/history-cache.ts';
import { decodeCursor } from '../paging/cursor.ts';
import { isWellFormedId } from '../paging/ids.ts';
import { keysetPage } from '../paging/page.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { ChatAccess } from './chat-access.ts';
import type { ChatsRepository, MemberRow } from './chats.repository.ts';

/** A member-list iterator: when the last member of the page joined, and who they are. */
interface MemberCursor {
  j: string;
  u: string;
}
const isMemberCursor = (v: unknown): v is MemberCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as MemberCursor).j === 'string' &&
  !Number.isNaN(Date.parse((v as MemberCursor).j)) &&
  isWellFormedId((v as MemberCursor).u);

/** The rules of a chat's membership: listing, adding and removing members. */
export class MembersService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly accounts: AccountsRepository,
    private readonly access: ChatAccess,
    private readonly history: HistoryCache,
    private readonly authDisabled: boolean,
    private readonly events: EventPublisher,
  ) {}

  /** A page of the chat's members, longest-standing first; members only. */
  async members(
    actor: Actor,
    chatId: string,
    limit: number,
    from: string | undefined,
  ): Promise<ChatMemberPage> {
    await this.access.requireActingMember(actor, chatId);
    const after = from === undefined ? undefined : decodeCursor(from, isMemberCursor);
    const rows = await this.chats.members(
      chatId,
      limit + 1,
      after && { joinedAt: new Date(after.j), userId: after.u },
    );
    const { items, next } = keysetPage(rows, limit, (last) => ({
      j: new Date(last.joined_at).toISOString(),
      u: last.user_id,
    }));
    return { users: items.map(toChatMember), ...(next && { next }) };
  }

  /** Adds a user by name; answers their id. Re-adding a member changes nothing. */
  async addUser(actor: Actor, chatId: string, userName: string): Promise<string> {
    const chat = await this.access.requireChat(chatId);
    const actorId = actor.idIfNamed;
    if (actorId) await this.access.requireMember(chatId, actorId);
    if (chat.kind === 'direct') throw new AppError('forbidden', 'a direct chat has exactly its two members');
    const user = this.authDisabled
      ? await this.accounts.findOrCreate(userName)
      : await this.accounts.findByName(userName);
    if (!user) throw new AppError('user-not-found', `no user named "${userName}"`);
    // The chat may be deleted while this request runs (requireChat found it a moment ago).
    const added = await this.chats.addMemberNow(chatId, user.id, (trx) =>
      this.events.append(trx, [
        {
          type: 'chat.member_added',
          chatId,
          data: { chat_id: chatId, user_id: user.id, user_name: user.user_name, role: 'member' },
          userIds: [user.id],
        },
      ]),
    );
    if (!added) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    this.events.committed();
    await this.access.remember(chatId, user.id, true);
    return user.id;
  }

  /**
   * Removes a member: the owner removes anyone, a member only themself. Under the chat row's lock,
   * so concurrent leaves see each other: the last owner to leave hands the chat to the
   * longest-standing member, and the last member to leave deletes it.
   */
  async removeUser(actor: Actor, chatId: string, targetId: string): Promise<void> {
    const actorId = actor.id;
    await this.access.requireChatMember(chatId, actorId);
    const deleted = await this.chats.transaction(async (trx) => {
      const chat = await this.chats.lock(trx, chatId);
      if (!chat) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
      const actorRole = await this.chats.roleOf(trx, chatId, actorId);
      if (!actorRole) throw this.access.notAMember(chatId, actorId);
      if (chat.kind === 'direct') {
        throw new AppError('forbidden', "a direct chat's members cannot change: delete the chat instead");
      }
      const targetRole = !isWellFormedId(targetId)
        ? undefined
        : targetId === actorId
          ? actorRole
          : await this.chats.roleOf(trx, chatId, targetId);
      if (!targetRole)
        throw new AppError('user-not-found', `user "${targetId}" is not a member of this chat`);
      if (targetId !== actorId && actorRole !== 'owner') {
        throw new AppError('forbidden', 'only the owner removes others; a member may only leave');
      }
      await this.chats.removeMember(trx, chatId, targetId);
      await this.events.append(trx, [
        {
          type: 'chat.member_removed',
          chatId,
          data: { chat_id: chatId, user_id: targetId },
          userIds: [targetId],
        },
      ]);
      const roster = await this.chats.roster(trx, chatId);
      if (roster.members === 0) {
        await this.chats.deleteChat(trx, chatId);
        return true;
      }
      if (roster.owners === 0 && roster.longestStanding) {
        await this.chats.setRole(trx, chatId, roster.longestStanding, 'owner');
      }
      return false;
    });
    this.events.committed();
    // Written through: the removed user's next read, post or search is refused on every instance.
    await this.access.remember(chatId, targetId, false);
    if (deleted) await this.history.invalidate(chatId);
  }
}

export function toChatMember(row: MemberRow): ChatMember {
  return {
    user_id: row.user_id,
    user_name: row.user_name,
    role: row.role,
    joined_at: new Date(row.joined_at).toISOString(),
  };
}
