import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';

/** The SQL of deleting an account that is not about chats (ChatsRepository holds that). */
export class AccountDeletionRepository {
  constructor(private readonly db: Kysely<DB>) {}

  transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /**
   * Locks the account's row against a second deletion; false when it is already deleted (or never
   * was). FOR NO KEY UPDATE: the user's posts running now (their foreign key takes KEY SHARE) go on.
   */
  async lockLive(trx: Transaction<DB>, userId: string): Promise<boolean> {
    const row = await trx
      .selectFrom('users')
      .select('id')
      .where('id', '=', userId)
      .where('deleted_at', 'is', null)
      .forNoKeyUpdate()
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The chats the user is a member of, in id order (the order their rows are locked in). */
  async memberChats(trx: Transaction<DB>, userId: string): Promise<string[]> {
    const rows = await trx
      .selectFrom('chat_members')
      .select('chat_id')
      .where('user_id', '=', userId)
      .orderBy('chat_id')
      .execute();
    return rows.map((r) => r.chat_id);
  }

  /** The chats holding messages by the user (messages_user_id_chat_id_seq_idx, migrations/0010). */
  async chatsWithMessages(trx: Transaction<DB>, userId: string): Promise<string[]> {
    const rows = await trx
      .selectFrom('messages')
      .select('chat_id')
      .distinct()
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.chat_id);
  }

  /**
   * Removes the name, password and profile; the row stays as the author of the user's messages.
   * The name's key stays through the grace period (AccountsRepository.releaseDeletedName), or goes
   * now when there is none.
   */
  async clearAccount(trx: Transaction<DB>, userId: string, keepNameKey: boolean, at: Date): Promise<void> {
    await trx
      .updateTable('users')
      .set({
        user_name: null,
        password_hash: null,
        display_name: null,
        deleted_at: at,
        ...(!keepNameKey && { name_key: null }),
      })
      .where('id', '=', userId)
      .execute();
  }

  /** Ends every running session of the user; answers their token hashes. */
  async endSessions(trx: Transaction<DB>, userId: string, at: Date): Promise<string[]> {
    const rows = await trx
      .updateTable('sessions')
      .set({ ended_at: at, end_reason: 'account-deleted' })
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .returning('token_hash')
      .execute();
    return rows.map((r) => r.token_hash);
  }

  /**
   * A direct chat's name was its two members' names: the `chat.created` events still kept of the
   * chat carry its new name instead.
   */
  async renameInEvents(trx: Transaction<DB>, chatId: string, chatName: string): Promise<void> {
    await sql`
      update events set data = jsonb_set(data, '{chat,chat_name}', to_jsonb(${chatName}::text))
      where chat_id = ${chatId} and type = 'chat.created'`.execute(trx);
  }

  /**
   * Takes the user's name out of the events still kept (EVENTS_RETENTION_HOURS) of the given chats,
   * so a replay shows the deleted user as history does: their messages (created, edited, pinned)
   * and their joining, with `user_name` null. Looked up by chat (events_chat_id_idx).
   */
  async scrubEvents(trx: Transaction<DB>, userId: string, chatIds: string[]): Promise<void> {
    if (chatIds.length === 0) return;
    await sql`
      update events set data = case
        when type = 'chat.member_added' then jsonb_set(data, '{user_name}', 'null'::jsonb)
        when type = 'chat.pinned' then jsonb_set(data, '{pin,message,user_name}', 'null'::jsonb)
        else jsonb_set(data, '{message,user_name}', 'null'::jsonb)
      end
      where chat_id = any(${chatIds}::uuid[])
        and (
          (type in ('message.created', 'message.edited') and data->'message'->>'user_id' = ${userId})
          or (type = 'chat.member_added' and data->>'user_id' = ${userId})
          or (type = 'chat.pinned' and data->'pin'->'message'->>'user_id' = ${userId})
        )`.execute(trx);
  }
}
