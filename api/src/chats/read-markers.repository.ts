import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';

export interface ReadPositionRow {
  last_read_message_id: string | null;
  unread_count: number;
  mention_count: number;
}

export type MarkReadResult =
  { moved: boolean; position: ReadPositionRow } | { missing: 'message' | 'member' };

/** Read positions (`chat_members.last_read_seq`, `unread_count`; migrations/0008). */
export class ReadMarkersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Moves the member's read position forward to the message (never back), in one transaction with
   * `onMoved` (its event). The unread count drops by the others' messages it passes, so no request
   * ever counts a chat's whole history.
   */
  markRead(
    chatId: string,
    userId: string,
    messageId: string,
    onMoved: (trx: Transaction<DB>, position: ReadPositionRow) => Promise<void>,
  ): Promise<MarkReadResult> {
    return this.db.transaction().execute(async (trx) => {
      const message = await trx
        .selectFrom('messages')
        .select('seq')
        .where('id', '=', messageId)
        .where('chat_id', '=', chatId)
        .executeTakeFirst();
      if (!message) return { missing: 'message' };
      const member = await trx
        .selectFrom('chat_members')
        .select(['last_read_seq', 'last_read_message_id', 'unread_count', 'mention_count'])
        .where('chat_id', '=', chatId)
        .where('user_id', '=', userId)
        .forUpdate()
        .executeTakeFirst();
      if (!member) return { missing: 'member' };
      const current = {
        last_read_message_id: member.last_read_message_id,
        unread_count: Number(member.unread_count),
        mention_count: Number(member.mention_count),
      };
      if (Number(message.seq) <= Number(member.last_read_seq)) return { moved: false, position: current };
      const passed = await trx
        .selectFrom('messages')
        .select((eb) => [
          eb.fn.countAll<string>().as('n'),
          // Of them, those that mention the reader: their unread mentions drop as much.
          sql<string>`count(*) filter (where mentions @> array[${userId}]::uuid[])`.as('mentioned'),
        ])
        .where('chat_id', '=', chatId)
        .where('seq', '>', member.last_read_seq)
        .where('seq', '<=', message.seq)
        .where('user_id', '<>', userId)
        .executeTakeFirstOrThrow();
      const updated = await trx
        .updateTable('chat_members')
        .set({
          last_read_seq: message.seq,
          last_read_message_id: messageId,
          unread_count: sql<number>`greatest(unread_count - ${Number(passed.n)}, 0)`,
          mention_count: sql<number>`greatest(mention_count - ${Number(passed.mentioned)}, 0)`,
        })
        .where('chat_id', '=', chatId)
        .where('user_id', '=', userId)
        .returning(['last_read_message_id', 'unread_count', 'mention_count'])
        .executeTakeFirstOrThrow();
      const position = {
        last_read_message_id: updated.last_read_message_id,
        unread_count: Number(updated.unread_count),
        mention_count: Number(updated.mention_count),
      };
      await onMoved(trx, position);
      return { moved: true, position };
    });
  }
}
