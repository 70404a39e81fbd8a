import { AppError, type ChatRow } from '@messenger/shared';
import type { ActingUser } from '../auth/acting-user.ts';
import type { Caller } from '../auth/caller.ts';
import type { UsersRepository } from '../auth/users.repository.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { isWellFormedId } from '../http/ids.ts';
import type { HistoryCache } from '../messages/history-cache.ts';
import type { ChatListRow, ChatsRepository, MemberRow, Role } from './chats.repository.ts';
import type { MembershipCache } from './membership-cache.ts';

export interface ChatView {
  chat_id: string;
  chat_name: string;
  kind: 'group' | 'direct';
  created_at: string;
  last_message_at: string | null;
  member_count: number;
  last_message: {
    message_id: string;
    user_id: string;
    user_name: string;
    text: string;
    created_at: string;
  } | null;
}

export interface MemberView {
  user_id: string;
  user_name: string;
  role: Role;
  joined_at: string;
}

/** How many members `GET /v1/chats/{chat_id}` lists; the rest are paged by `GET …/users`. */
export const DETAILS_MEMBERS = 100;

interface ChatCursor {
  a: string;
  c: string;
}
const isChatCursor = (v: unknown): v is ChatCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ChatCursor).a === 'string' &&
  !Number.isNaN(Date.parse((v as ChatCursor).a)) &&
  isWellFormedId((v as ChatCursor).c);

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

/** The rules of chats and membership. */
export class ChatsService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly users: UsersRepository,
    private readonly actingUser: ActingUser,
    private readonly membership: MembershipCache,
    private readonly history: HistoryCache,
    private readonly authDisabled: boolean,
  ) {}

  async create(caller: Caller, userIdParam: string | undefined, chatName: string): Promise<string> {
    const creator = await this.actingUser.resolve(caller, userIdParam, false);
    const chat = await this.chats.create(chatName, creator);
    if (creator) await this.membership.set(chat.id, creator, true);
    return chat.id;
  }

  async list(
    caller: Caller,
    userIdParam: string | undefined,
    limit: number,
    from: string | undefined,
  ): Promise<{ chats: ChatView[]; next?: { iterator: string } }> {
    const userId = await this.actingUser.resolve(caller, userIdParam, true);
    const after = from === undefined ? undefined : decodeCursor(from, isChatCursor);
    const rows = await this.chats.listForUser(
      userId,
      limit + 1,
      after && { activityAt: new Date(after.a), chatId: after.c },
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      chats: page.map(toChatView),
      ...(rows.length > limit && last
        ? { next: { iterator: encodeCursor({ a: new Date(last.activity_at).toISOString(), c: last.id }) } }
        : {}),
    };
  }

  /** The chat as the list shows it, with its first members; members only. */
  async details(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
  ): Promise<ChatView & { members: MemberView[] }> {
    await this.requireReader(caller, userIdParam, chatId);
    const [row, members] = await Promise.all([
      this.chats.listRow(chatId),
      this.chats.members(chatId, DETAILS_MEMBERS, undefined),
    ]);
    if (!row) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    return { ...toChatView(row), members: members.map(toMemberView) };
  }

  /** A page of the chat's members, longest-standing first; members only. */
  async members(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
    limit: number,
    from: string | undefined,
  ): Promise<{ users: MemberView[]; next?: { iterator: string } }> {
    await this.requireReader(caller, userIdParam, chatId);
    const after = from === undefined ? undefined : decodeCursor(from, isMemberCursor);
    const rows = await this.chats.members(
      chatId,
      limit + 1,
      after && { joinedAt: new Date(after.j), userId: after.u },
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      users: page.map(toMemberView),
      ...(rows.length > limit && last
        ? { next: { iterator: encodeCursor({ j: new Date(last.joined_at).toISOString(), u: last.user_id }) } }
        : {}),
    };
  }

  /**
   * Removes a member: the owner removes anyone, a member only themself. Under the chat row's lock,
   * so concurrent leaves see each other: the last owner to leave hands the chat to the
   * longest-standing member, and the last member to leave deletes it.
   */
  async removeUser(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
    targetId: string,
  ): Promise<void> {
    const actor = await this.actingUser.resolve(caller, userIdParam, true);
    await this.requireChatMember(chatId, actor);
    const deleted = await this.chats.transaction(async (trx) => {
      const chat = await this.chats.lock(trx, chatId);
      if (!chat) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
      const actorRole = await this.chats.roleOf(trx, chatId, actor);
      if (!actorRole) throw this.notAMember(chatId, actor);
      if (chat.kind === 'direct') {
        throw new AppError('forbidden', "a direct chat's members cannot change: delete the chat instead");
      }
      const targetRole = !isWellFormedId(targetId)
        ? undefined
        : targetId === actor
          ? actorRole
          : await this.chats.roleOf(trx, chatId, targetId);
      if (!targetRole)
        throw new AppError('user-not-found', `user "${targetId}" is not a member of this chat`);
      if (targetId !== actor && actorRole !== 'owner') {
        throw new AppError('forbidden', 'only the owner removes others; a member may only leave');
      }
      await this.chats.removeMember(trx, chatId, targetId);
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
    // Written through: the removed user's next read, post or search is refused on every instance.
    await this.membership.set(chatId, targetId, false);
    if (deleted) await this.history.invalidate(chatId);
  }

  /** The owner deletes the chat and every message in it. */
  async delete(caller: Caller, userIdParam: string | undefined, chatId: string): Promise<void> {
    const actor = await this.actingUser.resolve(caller, userIdParam, true);
    await this.requireChatMember(chatId, actor);
    const members = await this.chats.transaction(async (trx) => {
      if (!(await this.chats.lock(trx, chatId))) {
        throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
      }
      const role = await this.chats.roleOf(trx, chatId, actor);
      if (!role) throw this.notAMember(chatId, actor);
      if (role !== 'owner') throw new AppError('forbidden', 'only the owner may delete the chat');
      const ids = await this.chats.memberIds(trx, chatId);
      await this.chats.deleteChat(trx, chatId);
      return ids;
    });
    // A cached "member" would let a cached page answer for a chat that is gone.
    await Promise.all(members.map((userId) => this.membership.set(chatId, userId, false)));
    await this.history.invalidate(chatId);
  }

  /** Adds a user by name; answers their id. Re-adding a member changes nothing. */
  async addUser(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
    userName: string,
  ): Promise<string> {
    const chat = await this.requireChat(chatId);
    const actor = await this.actingUser.resolve(caller, userIdParam, false);
    if (actor) await this.requireMember(chatId, actor);
    if (chat.kind === 'direct') throw new AppError('forbidden', 'a direct chat has exactly its two members');
    const user = this.authDisabled
      ? await this.users.findOrCreate(userName)
      : await this.users.findByName(userName);
    if (!user) throw new AppError('user-not-found', `no user named "${userName}"`);
    // The chat may be deleted while this request runs (requireChat found it a moment ago).
    if (!(await this.chats.addMemberNow(chatId, user.id))) {
      throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    }
    await this.membership.set(chatId, user.id, true);
    return user.id;
  }

  /** The chat, or 404 `chat-not-found` for an unknown or malformed id. */
  async requireChat(chatId: string): Promise<ChatRow> {
    const chat = isWellFormedId(chatId) ? await this.chats.findById(chatId) : undefined;
    if (!chat) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    return chat;
  }

  /**
   * The chat exists and the user is in it: answered from the cache alone when membership is cached
   * (a member implies the chat), so a cached history read touches no database.
   */
  async requireChatMember(chatId: string, userId: string): Promise<void> {
    if ((await this.membership.get(chatId, userId)) === true) return;
    await this.requireChat(chatId);
    await this.requireMember(chatId, userId);
  }

  /**
   * Only members may act on a chat: 403 for a logged-in stranger; in AUTH_DISABLED mode the
   * original API's 404 `user-not-found`.
   */
  async requireMember(chatId: string, userId: string): Promise<void> {
    let member = await this.membership.get(chatId, userId);
    if (member === undefined) {
      member = await this.chats.isMember(chatId, userId);
      await this.membership.set(chatId, userId, member);
    }
    if (member) return;
    throw this.notAMember(chatId, userId);
  }

  /** The caller (required) may read the chat: an unknown chat first, then membership. */
  private async requireReader(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
  ): Promise<void> {
    if (caller.kind !== 'session') await this.requireChat(chatId);
    const reader = await this.actingUser.resolve(caller, userIdParam, true);
    await this.requireChatMember(chatId, reader);
  }

  private notAMember(chatId: string, userId: string): AppError {
    return this.authDisabled
      ? new AppError('user-not-found', `user "${userId}" is not a member of chat "${chatId}"`)
      : new AppError('forbidden', 'you are not a member of this chat');
  }
}

function toChatView(row: ChatListRow): ChatView {
  return {
    chat_id: row.id,
    chat_name: row.chat_name,
    kind: row.kind,
    created_at: new Date(row.created_at).toISOString(),
    last_message_at: row.last_message_at ? new Date(row.last_message_at).toISOString() : null,
    member_count: Number(row.member_count),
    last_message:
      row.last_message_id !== null &&
      row.last_message_user_id !== null &&
      row.last_message_created_at !== null
        ? {
            message_id: row.last_message_id,
            user_id: row.last_message_user_id,
            user_name: row.last_message_user_name ?? '',
            text: row.last_message_text ?? '',
            created_at: new Date(row.last_message_created_at).toISOString(),
          }
        : null,
  };
}

function toMemberView(row: MemberRow): MemberView {
  return {
    user_id: row.user_id,
    user_name: row.user_name,
    role: row.role,
    joined_at: new Date(row.joined_at).toISOString(),
  };
}
