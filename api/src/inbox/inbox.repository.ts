import type { Kysely } from 'kysely';
import type { DB } from '@messenger/shared';

export interface InboxRow {
  id: string;
  chat_id: string;
  chat_name: string;
  user_id: string;
  /** null when the sender has deleted their account. */
  user_name: string | null;
  text: string;
  created_at: Date;
}

export interface InboxQuery {
  userId: string;
  /** Only messages by this user. */
  senderId?: string;
  /** Only messages created at or after this. */
  since: Date;
  limit: number;
}

/** The only Kysely code of the inbox. */
export class InboxRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The newest messages others sent in the user's chats. Per chat of the user, a backward scan of
   * messages_chat_id_created_at_idx (migration 0005) stopping at `since` and at `limit` rows, then the
   * top `limit` of those: the cost follows the user's chats and the limit, not the size of the table.
   */
  recent(q: InboxQuery): Promise<InboxRow[]> {
    return this.recentQuery(q).execute();
  }

  /** The plan PostgreSQL chooses for `recent` (EXPLAIN): for tests and for operators. */
  async planOfRecent(q: InboxQuery): Promise<string> {
    const rows = await this.recentQuery(q).explain();
    return rows.map((row) => String(Object.values(row)[0])).join('\n');
  }

  private recentQuery(q: InboxQuery) {
    return this.db
      .selectFrom('chat_members as cm')
      .innerJoinLateral(
        (eb) => {
          let sub = eb
            .selectFrom('messages as msg')
            .select(['msg.id', 'msg.chat_id', 'msg.user_id', 'msg.text', 'msg.created_at'])
            .whereRef('msg.chat_id', '=', 'cm.chat_id')
            .where('msg.created_at', '>=', q.since)
            .where('msg.user_id', '<>', q.userId);
          if (q.senderId !== undefined) sub = sub.where('msg.user_id', '=', q.senderId);
          return sub.orderBy('msg.created_at', 'desc').orderBy('msg.id', 'desc').limit(q.limit).as('m');
        },
        (join) => join.onTrue(),
      )
      .innerJoin('chats as c', 'c.id', 'm.chat_id')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.id', 'm.chat_id', 'c.chat_name', 'm.user_id', 'u.user_name', 'm.text', 'm.created_at'])
      .where('cm.user_id', '=', q.userId)
      .orderBy('m.created_at', 'desc')
      .orderBy('m.id', 'desc')
      .limit(q.limit);
  }
}
