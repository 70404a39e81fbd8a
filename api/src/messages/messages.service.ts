import { randomUUID } from 'node:crypto';
import { AppError } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import type { ChatAccess } from '../chats/chat-access.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { Attachment, Message, MessagePage, NewMessage, ThreadPage } from '../schemas.ts';
import { decodeCursor } from '../paging/cursor.ts';
import { isWellFormedId } from '../paging/ids.ts';
import { keysetPage } from '../paging/page.ts';
import { MembershipCache } from '../chats/membership-cache.ts';
import type { RecordReply, StoredReply } from '../idempotency/idempotency.ts';
import type { GroupCommit } from './group-commit.ts';
import { toCachedPage, type CachedPage, type HistoryCache } from './history-cache.ts';
import { mentionCandidates } from './mentions.ts';
import type {
  MessagesRepository,
  MessageWithAuthor,
  NewMessageContent,
  ThreadCounts,
} from './messages.repository.ts';

export type Order = 'asc' | 'desc';

/** An Idempotency-Key's record, and the reply it keeps for the ids of the messages stored. */
export interface KeyedReply {
  record: RecordReply;
  reply: (messageIds: string[]) => StoredReply;
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

/** A thread iterator: the seq of the last reply the page held. */
interface ThreadCursor {
  r: number;
}
const isThreadCursor = (v: unknown): v is ThreadCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as ThreadCursor).r) &&
  (v as ThreadCursor).r >= 0;

/** The rules of posting and reading messages. */
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly access: ChatAccess,
    private readonly cache: HistoryCache,
    private readonly events: EventPublisher,
    private readonly groupCommit: GroupCommit,
  ) {}

  /**
   * Posts one message: text (a string, as the original API), or text and/or attachments. A plain
   * message (no reply, no `@mention`) goes through the group commit: one statement, with whatever
   * else is being posted meanwhile. `keyed` records an Idempotency-Key with it.
   */
  async post(
    actor: Actor,
    chatId: string,
    message: string | NewMessage,
    keyed?: KeyedReply,
  ): Promise<string> {
    const content = toContent(typeof message === 'string' ? { message } : message, '');
    if (content.replyTo === undefined && !content.mentionCandidates?.length) {
      return this.postPlain(actor, chatId, content, keyed);
    }
    const [id] = await this.store(actor, chatId, [content], keyed);
    return id!;
  }

  /** Posts several messages in order, all or none; answers their ids in the same order. */
  async postBatch(
    actor: Actor,
    chatId: string,
    messages: NewMessage[],
    keyed?: KeyedReply,
  ): Promise<string[]> {
    const contents = messages.map((m, i) => toContent(m, `messages.${i}.`));
    return this.store(actor, chatId, contents, keyed);
  }

  private async postPlain(
    actor: Actor,
    chatId: string,
    content: NewMessageContent,
    keyed: KeyedReply | undefined,
  ): Promise<string> {
    const userId = await this.access.requireActingMember(actor, chatId);
    const id = randomUUID();
    const key = keyed?.record.key && { ...keyed.record.key, ...keyed.reply([id]) };
    const outcome = await this.groupCommit.post({
      id,
      chatId,
      userId,
      text: content.text,
      attachments: content.attachments,
      ...(key ? { key } : {}),
    });
    // The chat was there a moment ago: it was deleted in between.
    if (outcome === 'chat-not-found') throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    keyed?.record.written(outcome === 'stored');
    return id;
  }

  private async store(
    actor: Actor,
    chatId: string,
    contents: NewMessageContent[],
    keyed: KeyedReply | undefined,
  ): Promise<string[]> {
    const author = await this.access.requireActingMember(actor, chatId);
    const stored = await this.messages.appendMany(chatId, author, contents, async (trx, ids, threads) => {
      await keyed?.record(trx, keyed.reply(ids));
      // Last: the event log's lock is then held for the shortest time before the commit.
      await this.events.appendCreated(trx, ids);
      await this.events.append(
        trx,
        (threads ?? []).map((t) => threadUpdated(chatId, t)),
      );
    });
    // The chat was there a moment ago: it was deleted in between.
    if (!stored) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    this.events.committed();
    // Before the 201: once a client holds the id, no reader may get a page without the message.
    await this.cache.invalidate(chatId);
    return stored.map((m) => m.id);
  }

  /** The author replaces the text of their message; answers the message as it is now. */
  async edit(actor: Actor, chatId: string, messageId: string, text: string): Promise<Message> {
    const editor = await this.access.requireActingMember(actor, chatId);
    const message = await this.requireMessage(chatId, messageId);
    if (message.user_id !== editor) throw new AppError('forbidden', 'only the author may edit a message');
    let edited: Message | undefined;
    const done = await this.messages.editText(chatId, messageId, editor, text, async (trx) => {
      const [row] = await this.messages.views(trx, [messageId], editor);
      edited = row && toMessage(row);
      if (edited) {
        // Every member gets the same event: `me` is the editor's, so it is not sent (see Message).
        const forEveryone = { ...edited, reactions: edited.reactions.map((r) => ({ ...r, me: false })) };
        await this.events.append(trx, [
          { type: 'message.edited', chatId, data: { chat_id: chatId, message: forEveryone } },
        ]);
      }
    });
    if (!done || !edited) throw messageNotFound(messageId);
    this.events.committed();
    // Before the 200: no read that starts after it may get a page with the old text.
    await this.cache.invalidate(chatId);
    return edited;
  }

  /** The author or an owner of the chat deletes a message. */
  async delete(actor: Actor, chatId: string, messageId: string): Promise<void> {
    const actorId = await this.access.requireActingMember(actor, chatId);
    const message = await this.requireMessage(chatId, messageId);
    if (message.user_id !== actorId && (await this.access.roleOf(chatId, actorId)) !== 'owner') {
      throw new AppError('forbidden', 'only the author or an owner of the chat may delete a message');
    }
    const deleted = await this.messages.delete(chatId, messageId, (trx, thread) =>
      this.events.append(trx, [
        { type: 'message.deleted', chatId, data: { chat_id: chatId, message_id: messageId } },
        ...(thread ? [threadUpdated(chatId, thread)] : []),
      ]),
    );
    if (!deleted) throw messageNotFound(messageId);
    this.events.committed();
    // Before the 204: no read that starts after it may get a page that still holds the message.
    await this.cache.invalidate(chatId);
  }

  private async requireMessage(chatId: string, messageId: string) {
    const message = isWellFormedId(messageId) ? await this.messages.findInChat(chatId, messageId) : undefined;
    if (!message) throw messageNotFound(messageId);
    return message;
  }

  /**
   * A page of the chat's history, as its response bytes. On a session's read the store is asked
   * once for the chat's cache version, the page under it and the reader's membership together; a
   * hit is answered from those bytes without touching the database.
   */
  async history(
    actor: Actor,
    chatId: string,
    limit: number,
    from: string | undefined,
    order: Order,
  ): Promise<CachedPage> {
    // A bad iterator is refused after the membership check, as before: a stranger learns nothing.
    let afterSeq: number | undefined;
    let badCursor: unknown;
    try {
      afterSeq = from === undefined ? undefined : this.afterSeqOf(from, order);
    } catch (err) {
      badCursor = err;
    }
    // A session's reader is known up front, so its membership is read with the page in one store
    // trip; a trusted client's chat and named user are checked first, in the original API's order.
    const reader = actor.hasSession ? actor.idIfNamed : await this.access.requireReaderIfNamed(actor, chatId);
    // Pages are cached per reader: each message's reactions say whether the reader is among those
    // who reacted (`me`), so one reader's page must never be handed to another. The alternative,
    // one shared page and `me` looked up per read, would put a query on every cache hit, which is
    // what the cache is there to avoid; a reaction bumps the version, so every reader's pages go.
    const pageId = `${reader ?? ''}:${order}:${afterSeq ?? ''}:${limit}`;
    const memberKey =
      actor.hasSession && reader !== undefined ? this.access.membershipKey(chatId, reader) : undefined;
    const cached =
      badCursor === undefined
        ? await this.cache.lookup(chatId, pageId, memberKey ? [memberKey] : [])
        : undefined;
    if (actor.hasSession) {
      const prefetched =
        memberKey && cached?.alongside ? { member: MembershipCache.parse(cached.alongside[0]) } : undefined;
      await this.access.requireReaderIfNamed(actor, chatId, prefetched);
    }
    if (badCursor !== undefined) throw badCursor;
    if (cached?.page) return cached.page;

    // One row more than asked says whether another page exists.
    const rows = await this.messages.page(chatId, order, afterSeq, limit + 1, reader);
    const { items, next } = keysetPage(rows, limit, (last) => ({ o: order, s: Number(last.seq) }));
    const body: MessagePage = { messages: items.map(toMessage), ...(next && { next }) };
    return cached?.version !== undefined
      ? this.cache.put(chatId, cached.version, pageId, body)
      : toCachedPage(body);
  }

  private afterSeqOf(from: string, order: Order): number {
    const cursor = decodeCursor(from, isHistoryCursor);
    if (cursor.o !== order) {
      throw new AppError('bad-parameters', `this iterator pages order=${cursor.o}: pass the same order`);
    }
    return cursor.s;
  }

  /**
   * A page of the thread under a message, oldest first. A deleted root keeps its thread: the page
   * then says `root_deleted`. Not cached: threads are read far less than histories.
   */
  async replies(
    actor: Actor,
    chatId: string,
    rootId: string,
    limit: number,
    from: string | undefined,
  ): Promise<ThreadPage> {
    const reader = await this.access.requireReaderIfNamed(actor, chatId);
    const afterSeq = from === undefined ? undefined : decodeCursor(from, isThreadCursor).r;
    if (!isWellFormedId(rootId)) throw messageNotFound(rootId);
    const [root, rows] = await Promise.all([
      this.messages.view(chatId, rootId, reader),
      this.messages.replies(chatId, rootId, afterSeq, limit + 1, reader),
    ]);
    // No root and no reply on this page: a thread whose replies are all on earlier pages, or none.
    if (!root && rows.length === 0 && !(await this.messages.hasReplies(chatId, rootId))) {
      throw messageNotFound(rootId);
    }
    const { items, next } = keysetPage(rows, limit, (last) => ({ r: Number(last.seq) }));
    return {
      ...(root ? { root: toMessage(root), root_deleted: false } : { root_deleted: true }),
      messages: items.map(toMessage),
      ...(next && { next }),
    };
  }
}

/** `message.thread_updated`: a thread's counts after a reply was posted to it or deleted from it. */
function threadUpdated(chatId: string, thread: ThreadCounts) {
  return {
    type: 'message.thread_updated' as const,
    chatId,
    data: { chat_id: chatId, ...thread },
  };
}

export function toMessage(row: MessageWithAuthor): Message {
  return {
    message_id: row.id,
    chat_id: row.chat_id,
    user_id: row.user_id,
    user_name: row.user_name,
    text: row.text,
    created_at: new Date(row.created_at).toISOString(),
    edited_at: row.edited_at ? new Date(row.edited_at).toISOString() : null,
    attachments: row.attachments ?? [],
    reply_to: row.reply_to ?? null,
    reply_count: Number(row.reply_count ?? 0),
    last_reply_at: row.last_reply_at ? new Date(row.last_reply_at).toISOString() : null,
    reactions: row.reactions ?? [],
    mentions: row.mentions ?? [],
  };
}

const messageNotFound = (messageId: string) =>
  new AppError('message-not-found', `no message with id "${messageId}" in this chat`);

/**
 * What is stored of a message the contract has validated: text or attachments, at least one (the
 * contract cannot say "one of two fields" readably), and of each attachment only the fields of its
 * type, so that nothing a client adds beyond the contract is kept.
 */
/** `field` prefixes the body fields named in an error: `""` for a post, `messages.3.` in a batch. */
function toContent(input: NewMessage, field: string): NewMessageContent {
  const attachments = (input.attachments ?? []).map(pickAttachmentFields);
  // `""` is what many clients send for "no text": fine beside attachments, as leaving it out is.
  const text = input.message ?? '';
  if (text === '' && attachments.length === 0) {
    throw new AppError(
      'bad-parameters',
      `body field "${field}message" must hold text, or "${field}attachments" at least one attachment`,
    );
  }
  if (input.reply_to !== undefined && !isWellFormedId(input.reply_to)) {
    throw new AppError('bad-parameters', `body field "${field}reply_to" is not a message id`);
  }
  return {
    text,
    attachments,
    ...(input.reply_to !== undefined && { replyTo: input.reply_to }),
    mentionCandidates: mentionCandidates(text),
  };
}

function pickAttachmentFields(a: Attachment): Attachment {
  switch (a.type) {
    case 'image':
      return { type: a.type, url: a.url, width: a.width, height: a.height };
    case 'video':
      return { type: a.type, url: a.url, source: a.source };
    case 'link':
      return { type: a.type, url: a.url, ...(a.title !== undefined && { title: a.title }) };
  }
}
