import type { Kysely } from 'kysely';
import type { DB } from '@messenger/shared';

export interface MessageWithAuthor {
  id: string;
  chat_id: string;
  seq: number;
  user_id: string;
  user_name: string;
  text: string;
  created_at: Date;
}

/** The only code that reads or writes `messages`. */
export class MessagesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Appends a message. The chat row is locked while its next seq is taken, so a chat's seqs
   * commit in order: a reader paging by seq never passes a message that has yet to commit.
   * Answers `undefined` when the chat does not exist.
   */
  append(chatId: string, userId: string, text: string): Promise<{ id: string; seq: number } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const chat = await trx
        .updateTable('chats')
        .set((eb) => ({ last_message_seq: eb('last_message_seq', '+', 1), last_message_at: new Date() }))
        .where('id', '=', chatId)
        .returning('last_message_seq')
        .executeTakeFirst();
      if (!chat) return undefined;
      const seq = Number(chat.last_message_seq);
      return trx
        .insertInto('messages')
        .values({ chat_id: chatId, seq, user_id: userId, text })
        .returning(['id', 'seq'])
        .executeTakeFirstOrThrow();
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
      .select(['m.id', 'm.chat_id', 'm.seq', 'm.user_id', 'u.user_name', 'm.text', 'm.created_at'])
      .where('m.chat_id', '=', chatId);
    if (afterSeq !== undefined) query = query.where('m.seq', order === 'asc' ? '>' : '<', afterSeq);
    return query.orderBy('m.seq', order).limit(limit).execute();
  }
}
