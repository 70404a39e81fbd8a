import { AppError } from '@messenger/shared';
import type { ActingUser } from '../auth/acting-user.ts';
import type { Caller } from '../auth/caller.ts';
import type { ChatsService } from '../chats/chats.service.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { etagOf, type CachedPage, type HistoryCache } from './history-cache.ts';
import type { MessagesRepository, MessageWithAuthor } from './messages.repository.ts';

export interface MessageView {
  message_id: string;
  chat_id: string;
  user_id: string;
  user_name: string;
  text: string;
  created_at: string;
}

export type Order = 'asc' | 'desc';

export interface HistoryPage {
  messages: MessageView[];
  next?: { iterator: string };
}

/** A history iterator: the direction it was issued for and the last seq the page held. */
interface HistoryCursor {
  o: Order;
  s: number;
}
const isHistoryCursor = (v: unknown): v is HistoryCursor =>
  typeof v === 'object' &&
  v !== null &&
  ((v as HistoryCursor).o === 'asc' || (v as HistoryCursor).o === 'desc') &&
  Number.isSafeInteger((v as HistoryCursor).s) &&
  (v as HistoryCursor).s >= 0;

/** The rules of posting and reading messages. */
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsService,
    private readonly actingUser: ActingUser,
    private readonly cache: HistoryCache,
  ) {}

  async post(caller: Caller, userIdParam: string | undefined, chatId: string, text: string): Promise<string> {
    // The original API names an unknown chat before an unknown user.
    if (caller.kind !== 'session') await this.chats.requireChat(chatId);
    const author = await this.actingUser.resolve(caller, userIdParam, true);
    await this.chats.requireChatMember(chatId, author);
    const message = await this.messages.append(chatId, author, text);
    // The chat was there a moment ago: it was deleted in between.
    if (!message) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    // Before the 201: once a client holds the id, no reader may get a page without the message.
    await this.cache.invalidate(chatId);
    return message.id;
  }

  async history(
    caller: Caller,
    userIdParam: string | undefined,
    chatId: string,
    limit: number,
    from: string | undefined,
    order: Order,
  ): Promise<CachedPage<HistoryPage>> {
    if (caller.kind !== 'session') await this.chats.requireChat(chatId);
    const reader = await this.actingUser.resolve(caller, userIdParam, false);
    if (reader) await this.chats.requireChatMember(chatId, reader);

    let afterSeq: number | undefined;
    if (from !== undefined) {
      const cursor = decodeCursor(from, isHistoryCursor);
      if (cursor.o !== order) {
        throw new AppError('bad-parameters', `this iterator pages order=${cursor.o}: pass the same order`);
      }
      afterSeq = cursor.s;
    }
    const version = await this.cache.version(chatId);
    const pageId = `${order}:${afterSeq ?? ''}:${limit}`;
    if (version !== undefined) {
      const hit = await this.cache.get<HistoryPage>(chatId, version, pageId);
      if (hit) return hit;
    }
    // One row more than asked says whether another page exists.
    const rows = await this.messages.page(chatId, order, afterSeq, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const body: HistoryPage = {
      messages: page.map(toMessageView),
      ...(rows.length > limit && last
        ? { next: { iterator: encodeCursor({ o: order, s: Number(last.seq) }) } }
        : {}),
    };
    return version !== undefined
      ? this.cache.put(chatId, version, pageId, body)
      : { etag: etagOf(body), body };
  }
}

export function toMessageView(row: MessageWithAuthor): MessageView {
  return {
    message_id: row.id,
    chat_id: row.chat_id,
    user_id: row.user_id,
    user_name: row.user_name,
    text: row.text,
    created_at: new Date(row.created_at).toISOString(),
  };
}
