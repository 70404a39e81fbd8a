import { sql, type Kysely, type Transaction } from 'kysely';
import type { ChatRow, DB } from '@messenger/shared';

export interface ChatListRow {
  id: string;
  chat_name: string;
  kind: 'group' | 'direct';
  created_at: Date;
  last_message_at: Date | null;
  activity_at: Date;
}

/** The only code that reads or writes `chats` and `chat_members`. */
export class ChatsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(chatId: string): Promise<ChatRow | undefined> {
    return this.db.selectFrom('chats').selectAll().where('id', '=', chatId).executeTakeFirst();
  }

  /** Creates a chat and, when there is a creator, makes them its owner: both or neither. */
  create(chatName: string, creatorId: string | undefined): Promise<ChatRow> {
    return this.db.transaction().execute(async (trx) => {
      const chat = await trx
        .insertInto('chats')
        .values({ chat_name: chatName, created_by: creatorId ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (creatorId) await this.addMember(trx, chat.id, creatorId, 'owner');
      return chat;
    });
  }

  async isMember(chatId: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('chat_members')
      .select('user_id')
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Adds a member; adding one who is already there changes nothing. */
  async addMember(
    db: Kysely<DB> | Transaction<DB>,
    chatId: string,
    userId: string,
    role: 'owner' | 'member' = 'member',
  ): Promise<void> {
    await db
      .insertInto('chat_members')
      .values({ chat_id: chatId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['chat_id', 'user_id']).doNothing())
      .execute();
  }

  addMemberNow(chatId: string, userId: string): Promise<void> {
    return this.addMember(this.db, chatId, userId);
  }

  /** A page of the user's chats, most recently active first; `after` is the last row of the page before. */
  listForUser(
    userId: string,
    limit: number,
    after: { activityAt: Date; chatId: string } | undefined,
  ): Promise<ChatListRow[]> {
    // Milliseconds, as the iterator carries them (a JS Date): ordering and resuming on the same key
    // keeps chats active within one millisecond from being skipped.
    const activity = sql<Date>`date_trunc('milliseconds', coalesce(c.last_message_at, c.created_at))`;
    let query = this.db
      .selectFrom('chat_members as m')
      .innerJoin('chats as c', 'c.id', 'm.chat_id')
      .select([
        'c.id',
        'c.chat_name',
        'c.kind',
        'c.created_at',
        'c.last_message_at',
        activity.as('activity_at'),
      ])
      .where('m.user_id', '=', userId);
    if (after) {
      query = query.where(sql<boolean>`(${activity}, c.id) < (${after.activityAt}, ${after.chatId})`);
    }
    return query.orderBy(activity, 'desc').orderBy('c.id', 'desc').limit(limit).execute();
  }
}
