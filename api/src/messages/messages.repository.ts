import type { Kysely, Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { Attachment } from '../schemas.ts';

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
}

/** What a new message holds: text (may be empty), attachments (may be none), not both empty. */
export interface NewMessageContent {
  text: string;
  attachments: Attachment[];
}

/**
 * More work for the transaction that stores messages, run once they are in (with their ids, in seq
 * order) and before it commits: it commits with them, and if it throws, none of them is stored.
 */
export type BeforeCommit = (trx: Transaction<DB>, messageIds: string[]) => Promise<void>;

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
] as const;

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
          })),
        )
        .returning(['id', 'seq'])
        .execute();
      // RETURNING follows the VALUES list in practice, but nothing promises it: order by seq.
      const stored = rows.map((r) => ({ id: r.id, seq: Number(r.seq) })).sort((a, b) => a.seq - b.seq);
      await beforeCommit?.(
        trx,
        stored.map((m) => m.id),
      );
      return stored;
    });
  }

  /** One page in seq order, starting after `afterSeq` (asc) or before it (desc): a keyset scan. */
  page(
    chatId: string,
    order: 'asc' | 'desc',
    afterSeq: number | undefined,
    limit: number,
  ): Promise<MessageWithAuthor[]> {
    let query = this.db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(VIEW_COLUMNS)
      .where('m.chat_id', '=', chatId);
    if (afterSeq !== undefined) query = query.where('m.seq', order === 'asc' ? '>' : '<', afterSeq);
    return query.orderBy('m.seq', order).limit(limit).execute() as Promise<MessageWithAuthor[]>;
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

  /** Messages as the API shows them, in seq order (in a transaction: what it wrote). */
  views(db: Db, messageIds: string[]): Promise<MessageWithAuthor[]> {
    return db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(VIEW_COLUMNS)
      .where('m.id', 'in', messageIds)
      .orderBy('m.seq')
      .execute() as Promise<MessageWithAuthor[]>;
  }

  /** One message as the API shows it. */
  view(messageId: string): Promise<MessageWithAuthor | undefined> {
    return this.db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(VIEW_COLUMNS)
      .where('m.id', '=', messageId)
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

  /** Deletes a message of the chat; answers whether it was there. */
  delete(chatId: string, messageId: string, inTransaction: InTransaction): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom('messages')
        .where('id', '=', messageId)
        .where('chat_id', '=', chatId)
        .returning(['seq', 'user_id'])
        .executeTakeFirst();
      if (!deleted) return false;
      // Unread for those who had not read it yet (and did not write it).
      await trx
        .updateTable('chat_members')
        .set((eb) => ({ unread_count: eb('unread_count', '-', 1) }))
        .where('chat_id', '=', chatId)
        .where('user_id', '<>', deleted.user_id)
        .where('last_read_seq', '<', deleted.seq)
        .where('unread_count', '>', 0)
        .execute();
      await inTransaction(trx);
      return true;
    });
  }
}
