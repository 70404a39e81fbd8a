import { AppError } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import type { Chat, ChatDetails } from '../schemas.ts';
import type { HistoryCache } from '../messages/history-cache.ts';
import { decodeCursor } from '../paging/cursor.ts';
import { isWellFormedId } from '../paging/ids.ts';
import { keysetPage } from '../paging/page.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { NewEvent } from '../events/event-log.ts';
import type { Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { ChatAccess } from './chat-access.ts';
import type { ChatChanges, ChatListRow, ChatsRepository } from './chats.repository.ts';
import { toChatMember } from './members.service.ts';

/** How many members `GET /v1/chats/{chat_id}` lists; the rest are paged by `GET …/users`. */
export const DETAILS_MEMBERS = 100;

/** A chat-list iterator: the last chat of the page, its activity time and id. */
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

/** The rules of chats: creating, listing, reading and deleting them. Members: members.service.ts. */
export class ChatsService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly access: ChatAccess,
    private readonly history: HistoryCache,
    private readonly events: EventPublisher,
  ) {}

  async create(actor: Actor, chatName: string): Promise<string> {
    const creator = actor.idIfNamed;
    const chat = await this.chats.create(chatName, creator, async (trx, chatId) => {
      if (creator)
        await this.events.append(trx, [await chatCreatedEvent(this.chats, trx, chatId, [creator])]);
    });
    this.events.committed();
    if (creator) await this.access.remember(chat.id, creator, true);
    return chat.id;
  }

  async list(
    actor: Actor,
    limit: number,
    from: string | undefined,
  ): Promise<{ chats: Chat[]; next?: { iterator: string } }> {
    const userId = actor.id;
    const after = from === undefined ? undefined : decodeCursor(from, isChatCursor);
    const rows = await this.chats.listForUser(
      userId,
      limit + 1,
      after && { activityAt: new Date(after.a), chatId: after.c },
    );
    const { items, next } = keysetPage(rows, limit, (last) => ({
      a: new Date(last.activity_at).toISOString(),
      c: last.id,
    }));
    return { chats: items.map(toChat), ...(next && { next }) };
  }

  /** The chat as the list shows it, with its first members; members only. */
  async details(actor: Actor, chatId: string): Promise<ChatDetails> {
    await this.access.requireActingMember(actor, chatId);
    const [row, members] = await Promise.all([
      this.chats.listRow(chatId, actor.idIfNamed),
      this.chats.members(chatId, DETAILS_MEMBERS, undefined),
    ]);
    if (!row) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    return { ...toChat(row), members: members.map(toChatMember) };
  }

  /**
   * An owner renames the chat or changes its topic or settings; a direct chat's name is made of its
   * members' names and stays. Answers the chat as `details` does. No cache holds a chat's name or
   * topic (chat lists and details are read live; history pages carry neither), so none is bumped.
   */
  async update(actor: Actor, chatId: string, changes: ChatChanges): Promise<ChatDetails> {
    const actorId = await this.access.requireActingMember(actor, chatId);
    await this.chats.transaction(async (trx) => {
      const chat = await this.chats.lock(trx, chatId);
      if (!chat) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
      const role = await this.chats.roleOf(trx, chatId, actorId);
      if (!role) throw this.access.notAMember(chatId, actorId);
      if (role !== 'owner') throw new AppError('forbidden', 'only an owner may change the chat');
      if (chat.kind === 'direct' && changes.chatName !== undefined) {
        throw new AppError('forbidden', "a direct chat's name is its members' names: it cannot be renamed");
      }
      const now = await this.chats.update(trx, chatId, changes);
      await this.events.append(trx, [
        { type: 'chat.updated', chatId, data: { chat_id: chatId, ...now, updated_by: actorId } },
      ]);
    });
    this.events.committed();
    return this.details(actor, chatId);
  }

  /** The owner deletes the chat and every message in it. */
  async delete(actor: Actor, chatId: string): Promise<void> {
    const actorId = actor.id;
    await this.access.requireChatMember(chatId, actorId);
    const members = await this.chats.transaction(async (trx) => {
      if (!(await this.chats.lock(trx, chatId))) {
        throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
      }
      const role = await this.chats.roleOf(trx, chatId, actorId);
      if (!role) throw this.access.notAMember(chatId, actorId);
      if (role !== 'owner') throw new AppError('forbidden', 'only the owner may delete the chat');
      const ids = await this.chats.memberIds(trx, chatId);
      await this.chats.deleteChat(trx, chatId);
      await this.events.append(trx, [
        { type: 'chat.deleted', chatId, data: { chat_id: chatId }, userIds: ids },
      ]);
      return ids;
    });
    this.events.committed();
    // A cached "member" would let a cached page answer for a chat that is gone.
    await Promise.all(members.map((userId) => this.access.remember(chatId, userId, false)));
    await this.history.invalidate(chatId);
  }
}

/** The `chat.created` event of a new chat, to its first members. */
export async function chatCreatedEvent(
  chats: ChatsRepository,
  trx: Transaction<DB>,
  chatId: string,
  memberIds: string[],
): Promise<NewEvent> {
  const row = await chats.listRow(chatId, undefined, trx);
  return { type: 'chat.created', chatId, data: { chat: toChat(row!) }, userIds: memberIds };
}

function toChat(row: ChatListRow): Chat {
  return {
    chat_id: row.id,
    chat_name: row.chat_name,
    kind: row.kind,
    topic: row.topic,
    members_can_pin: row.members_can_pin,
    created_at: new Date(row.created_at).toISOString(),
    last_message_at: row.last_message_at ? new Date(row.last_message_at).toISOString() : null,
    member_count: Number(row.member_count),
    unread_count: Number(row.unread_count),
    mention_count: Number(row.mention_count),
    last_read_message_id: row.last_read_message_id,
    last_message:
      row.last_message_id !== null &&
      row.last_message_user_id !== null &&
      row.last_message_created_at !== null
        ? {
            message_id: row.last_message_id,
            user_id: row.last_message_user_id,
            user_name: row.last_message_user_name,
            text: row.last_message_text ?? '',
            created_at: new Date(row.last_message_created_at).toISOString(),
          }
        : null,
  };
}
