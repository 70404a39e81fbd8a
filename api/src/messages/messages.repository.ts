import { sql, type Kysely, type Transaction } from 'kysely';
import { AppError, type DB } from '@messenger/shared';
import { reactionsOf } from '../reactions/reactions.sql.ts';
import type { Attachment, Reaction } from '../schemas.ts';

export interface MessageWithAuthor {
  id: string;
  chat_id: string;
  seq: number;
  user_id: string;
  /** null when the author has deleted their account (migrations/0010). */
  user_name: string | null;
  text: string;
  created_at: Date;
  /** Absent in rows read by queries that do not select it: treated as never edited. */
  edited_at?: Date | null;
  /** Absent in rows read by queries that do not select it: treated as none. */
  attachments?: Attachment[];
  /** The thread fields (migrations/0009); absent as above: no thread, no reply. */
  reply_to?: string | null;
  reply_count?: number;
  last_reply_at?: Date | null;
  /** The reactions as one reader sees them (`me`); absent as above: none. */
  reactions?: Reaction[];
  mentions?: string[];
}

/** What a new message holds: text (may be empty), attachments (may be none), not both empty. */
export interface NewMessageContent {
  text: string;
  attachments: Attachment[];
  /** The message of the same chat this one answers. */
  replyTo?: string;
  /** The `@names` of the text (mentions.ts), resolved against the chat's members when stored. */
  mentionCandidates?: string[];
}

/** A thread's counts, after a reply was added to it or taken from it. */
export interface ThreadCounts {
  message_id: string;
  reply_count: number;
  last_reply_at: string | null;
}

/**
 * More work for the transaction that stores messages, run once they are in (with their ids, in seq
 * order) and before it commits: it commits with them, and if it throws, none of them is stored.
 */
export type BeforeCommit = (
  trx: Transaction<DB>,
  messageIds: string[],
  /** The threads the messages replied into, their counts as they are now. */
  threads?: ThreadCounts[],
) => Promise<void>;

/** More work for a transaction that changes a message (its event), run before it commits. */
export type InTransaction = (trx: Transaction<DB>) => Promise<void>;

type Db = Kysely<DB> | Transaction<DB>;

/** The author of a message: who may edit or delete it. */
export interface MessageOwnership {
  id: string;
  user_id: string;
}

const VIEW_COLUMNS = [
  'm.id',
  'm.chat_id',
  'm.seq',
  'm.user_id',
  'u.user_name',
  'm.text',
  'm.created_at',
  'm.edited_at',
  'm.attachments',
  'm.reply_to',
  'm.reply_count',
  'm.last_reply_at',
  'm.mentions',
] as const;

/** The columns of a Message as `viewer` sees it (their own reactions marked `me`). */
const viewColumns = (viewer: string | undefined) =>
  [...VIEW_COLUMNS, reactionsOf(sql.ref('m.id'), viewer).as('reactions')] as const;

/** Messages with their authors, selected as `viewer` sees them: every read of Messages starts here. */
const viewsOf = (db: Db, viewer: string | undefined) =>
  db.selectFrom('messages as m').innerJoin('users as u', 'u.id', 'm.user_id').select(viewColumns(viewer));

/** A timestamp as the API writes it (or null), from what a driver returns. */
const iso = (value: Date | string | null): string | null => (value ? new Date(value).toISOString() : null);

/** Messages (`messages`): appending, paging, editing, deleting. */
export class MessagesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The connection, for `views` outside a transaction. */
  get database(): Kysely<DB> {
    return this.db;
  }

  /**
   * Appends messages in order, in one transaction: all or none. The chat row is locked while its
   * next seqs are taken, so a chat's seqs commit in order (a reader paging by seq never passes a
   * message that has yet to commit) and the messages of one call get consecutive seqs.
   * Answers `undefined` when the chat does not exist. `beforeCommit` joins the transaction (an
   * Idempotency-Key's record).
   */
  appendMany(
    chatId: string,
    userId: string,
    messages: NewMessageContent[],
    beforeCommit?: BeforeCommit,
  ): Promise<Array<{ id: string; seq: number }> | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const chat = await trx
        .updateTable('chats')
        .set((eb) => ({
          last_message_seq: eb('last_message_seq', '+', messages.length),
          last_message_at: new Date(),
        }))
        .where('id', '=', chatId)
        .returning('last_message_seq')
        .executeTakeFirst();
      if (!chat) return undefined;
      const first = Number(chat.last_message_seq) - messages.length + 1;
      // The roots first: each is checked to be of this chat and locked (its counts change) before
      // any reply to it is stored; a root deleted meanwhile waits for this commit, or is gone (400).
      const threads = await this.addToThreads(trx, chatId, messages);
      const mentions = await this.resolveMentions(trx, chatId, messages);
      const rows = await trx
        // In the same statement, one round trip less while the chat row is locked: the others have
        // that many more unread (the author's own messages never count).
        .with('unread', (db) =>
          db
            .updateTable('chat_members')
            .set((eb) => ({ unread_count: eb('unread_count', '+', messages.length) }))
            .where('chat_id', '=', chatId)
            .where('user_id', '<>', userId),
        )
        .insertInto('messages')
        .values(
          messages.map((m, i) => ({
            chat_id: chatId,
            seq: first + i,
            user_id: userId,
            text: m.text,
            attachments: JSON.stringify(m.attachments),
            reply_to: m.replyTo ?? null,
            mentions: mentions[i]!,
          })),
        )
        .returning(['id', 'seq'])
        .execute();
      await this.countMentions(trx, chatId, userId, mentions);
      // RETURNING follows the VALUES list in practice, but nothing promises it: order by seq.
      const stored = rows.map((r) => ({ id: r.id, seq: Number(r.seq) })).sort((a, b) => a.seq - b.seq);
      await beforeCommit?.(
        trx,
        stored.map((m) => m.id),
        threads,
      );
      return stored;
    });
  }

  /** Counts the replies of a batch into their roots; 400 for a root that is not of this chat. */
  private async addToThreads(
    trx: Transaction<DB>,
    chatId: string,
    messages: NewMessageContent[],
  ): Promise<ThreadCounts[]> {
    const perRoot = new Map<string, number>();
    for (const m of messages) if (m.replyTo) perRoot.set(m.replyTo, (perRoot.get(m.replyTo) ?? 0) + 1);
    const threads: ThreadCounts[] = [];
    // Sorted: two batches replying to the same roots lock them in the same order.
    for (const [rootId, n] of [...perRoot].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const root = await trx
        .updateTable('messages')
        .set((eb) => ({ reply_count: eb('reply_count', '+', n), last_reply_at: sql<Date>`now()` }))
        .where('id', '=', rootId)
        .where('chat_id', '=', chatId)
        .returning(['id', 'reply_count', 'last_reply_at'])
        .executeTakeFirst();
      if (!root) {
        throw new AppError('bad-parameters', `reply_to "${rootId}" is not a message of this chat`);
      }
      threads.push({
        message_id: root.id,
        reply_count: Number(root.reply_count),
        last_reply_at: iso(root.last_reply_at),
      });
    }
    return threads;
  }

  /**
   * The members each message mentions, in order of first mention, from its `@names`: one query for
   * the whole batch, matching names as logins do (name_key; exact names for AUTH_DISABLED users,
   * who have none). Someone who is not a member of the chat is mentioned by no one.
   */
  private async resolveMentions(
    trx: Transaction<DB>,
    chatId: string,
    messages: NewMessageContent[],
  ): Promise<string[][]> {
    const names = [...new Set(messages.flatMap((m) => m.mentionCandidates ?? []))];
    if (names.length === 0) return messages.map(() => []);
    const rows = await sql<{ name: string; user_id: string }>`
      select c.name, u.id as user_id
      from unnest(${names}::text[]) as c(name)
      join users u
        on u.name_key = lower(normalize(btrim(c.name), NFKC))
        or (u.name_key is null and u.user_name = c.name)
      join chat_members cm on cm.user_id = u.id and cm.chat_id = ${chatId}`.execute(trx);
    const byName = new Map(rows.rows.map((r) => [r.name, r.user_id]));
    return messages.map((m) => [
      ...new Set((m.mentionCandidates ?? []).flatMap((name) => byName.get(name) ?? [])),
    ]);
  }

  /** The mentioned members (not the author) have that many more unread mentions. */
  private async countMentions(
    trx: Transaction<DB>,
    chatId: string,
    authorId: string,
    mentions: string[][],
  ): Promise<void> {
    const counts = new Map<string, number>();
    for (const ids of mentions) {
      for (const id of ids) if (id !== authorId) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    if (counts.size === 0) return;
    await sql`
      update chat_members cm
      set mention_count = cm.mention_count + v.n
      from unnest(${[...counts.keys()]}::uuid[], ${[...counts.values()]}::int[]) as v(user_id, n)
      where cm.chat_id = ${chatId} and cm.user_id = v.user_id`.execute(trx);
  }

  /**
   * One page in seq order, starting after `afterSeq` (asc) or before it (desc): a keyset scan, in
   * one statement with every message's reactions as `viewer` sees them.
   */
  page(
    chatId: string,
    order: 'asc' | 'desc',
    afterSeq: number | undefined,
    limit: number,
    viewer: string | undefined,
  ): Promise<MessageWithAuthor[]> {
    let query = viewsOf(this.db, viewer).where('m.chat_id', '=', chatId);
    if (afterSeq !== undefined) query = query.where('m.seq', order === 'asc' ? '>' : '<', afterSeq);
    return query.orderBy('m.seq', order).limit(limit).execute() as Promise<MessageWithAuthor[]>;
  }

  /** One page of a thread, oldest first, after `afterSeq`: a keyset scan of the root's replies. */
  replies(
    chatId: string,
    rootId: string,
    afterSeq: number | undefined,
    limit: number,
    viewer: string | undefined,
  ): Promise<MessageWithAuthor[]> {
    let query = viewsOf(this.db, viewer).where('m.reply_to', '=', rootId).where('m.chat_id', '=', chatId);
    if (afterSeq !== undefined) query = query.where('m.seq', '>', afterSeq);
    return query.orderBy('m.seq').limit(limit).execute() as Promise<MessageWithAuthor[]>;
  }

  /** Whether the chat holds a reply to this id (the root of a thread, deleted or not). */
  async hasReplies(chatId: string, rootId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('messages')
      .select('id')
      .where('reply_to', '=', rootId)
      .where('chat_id', '=', chatId)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** A message of the chat, with its author; `undefined` when the chat holds no such message. */
  findInChat(chatId: string, messageId: string): Promise<MessageOwnership | undefined> {
    return this.db
      .selectFrom('messages')
      .select(['id', 'user_id'])
      .where('id', '=', messageId)
      .where('chat_id', '=', chatId)
      .executeTakeFirst();
  }

  /** Messages as the API shows them to `viewer`, in seq order (in a transaction: what it wrote). */
  views(db: Db, messageIds: string[], viewer: string | undefined): Promise<MessageWithAuthor[]> {
    return viewsOf(db, viewer).where('m.id', 'in', messageIds).orderBy('m.seq').execute() as Promise<
      MessageWithAuthor[]
    >;
  }

  /** One message of the chat as the API shows it to `viewer`. */
  view(
    chatId: string,
    messageId: string,
    viewer: string | undefined,
  ): Promise<MessageWithAuthor | undefined> {
    return viewsOf(this.db, viewer)
      .where('m.id', '=', messageId)
      .where('m.chat_id', '=', chatId)
      .executeTakeFirst() as Promise<MessageWithAuthor | undefined>;
  }

  /**
   * Replaces the text of the author's message and marks it edited; answers whether it did (false
   * when the message is gone or, in between, is not theirs).
   */
  editText(
    chatId: string,
    messageId: string,
    authorId: string,
    text: string,
    inTransaction: InTransaction,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('messages')
        .set({ text, edited_at: new Date() })
        .where('id', '=', messageId)
        .where('chat_id', '=', chatId)
        .where('user_id', '=', authorId)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await inTransaction(trx);
      return true;
    });
  }

  /**
   * Deletes a message of the chat; answers whether it was there. `inTransaction` gets the counts of
   * the thread the message was a reply in, when it was one.
   */
  delete(
    chatId: string,
    messageId: string,
    inTransaction: (trx: Transaction<DB>, thread: ThreadCounts | undefined) => Promise<void>,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom('messages')
        .where('id', '=', messageId)
        .where('chat_id', '=', chatId)
        .returning(['seq', 'user_id', 'reply_to', 'mentions'])
        .executeTakeFirst();
      if (!deleted) return false;
      // Unread mentions for those it mentioned who had not read it yet.
      const mentioned = deleted.mentions.filter((id) => id !== deleted.user_id);
      if (mentioned.length > 0) {
        await trx
          .updateTable('chat_members')
          .set((eb) => ({ mention_count: eb('mention_count', '-', 1) }))
          .where('chat_id', '=', chatId)
          .where('user_id', 'in', mentioned)
          .where('last_read_seq', '<', deleted.seq)
          .where('mention_count', '>', 0)
          .execute();
      }
      // The thread it answered has one reply less; its newest reply may now be an older one.
      let thread: ThreadCounts | undefined;
      if (deleted.reply_to) {
        const root = await trx
          .updateTable('messages')
          .set((eb) => ({
            reply_count: sql<number>`greatest(${eb.ref('reply_count')} - 1, 0)`,
            last_reply_at: eb
              .selectFrom('messages as r')
              .select((r) => r.fn.max('r.created_at').as('newest'))
              .where('r.reply_to', '=', deleted.reply_to),
          }))
          .where('id', '=', deleted.reply_to)
          .returning(['id', 'reply_count', 'last_reply_at'])
          .executeTakeFirst();
        thread = root
          ? {
              message_id: root.id,
              reply_count: Number(root.reply_count),
              last_reply_at: iso(root.last_reply_at),
            }
          : await this.deletedRootCounts(trx, chatId, deleted.reply_to);
      }
      // Unread for those who had not read it yet (and did not write it).
      await trx
        .updateTable('chat_members')
        .set((eb) => ({ unread_count: eb('unread_count', '-', 1) }))
        .where('chat_id', '=', chatId)
        .where('user_id', '<>', deleted.user_id)
        .where('last_read_seq', '<', deleted.seq)
        .where('unread_count', '>', 0)
        .execute();
      await inTransaction(trx, thread);
      return true;
    });
  }

  /** The counts of a thread whose root is gone, from its replies (nothing keeps them on a row). */
  private async deletedRootCounts(
    trx: Transaction<DB>,
    chatId: string,
    rootId: string,
  ): Promise<ThreadCounts> {
    const row = await trx
      .selectFrom('messages')
      .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.max('created_at').as('newest')])
      .where('reply_to', '=', rootId)
      .where('chat_id', '=', chatId)
      .executeTakeFirstOrThrow();
    return { message_id: rootId, reply_count: Number(row.n), last_reply_at: iso(row.newest) };
  }
}
