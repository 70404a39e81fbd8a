import { AppError, type ChatRow } from '@messenger/shared';
import type { ActingUser } from '../auth/acting-user.ts';
import type { Caller } from '../auth/caller.ts';
import type { UsersRepository } from '../auth/users.repository.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { isWellFormedId } from '../http/ids.ts';
import type { ChatListRow, ChatsRepository } from './chats.repository.ts';
import type { MembershipCache } from './membership-cache.ts';

export interface ChatView {
  chat_id: string;
  chat_name: string;
  kind: 'group' | 'direct';
  created_at: string;
  last_message_at: string | null;
}

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

/** The rules of chats and membership. */
export class ChatsService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly users: UsersRepository,
    private readonly actingUser: ActingUser,
    private readonly membership: MembershipCache,
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

  /** Adds a user by name; answers their id. Re-adding a member changes nothing. */
  async addUser(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
    userName: string,
  ): Promise<string> {
    await this.requireChat(chatId);
    const actor = await this.actingUser.resolve(caller, userIdParam, false);
    if (actor) await this.requireMember(chatId, actor);
    const user = this.authDisabled
      ? await this.users.findOrCreate(userName)
      : await this.users.findByName(userName);
    if (!user) throw new AppError('user-not-found', `no user named "${userName}"`);
    await this.chats.addMemberNow(chatId, user.id);
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
    throw this.authDisabled
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
  };
}
