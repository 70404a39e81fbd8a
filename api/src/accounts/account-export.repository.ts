import { sql, type Kysely } from 'kysely';
import type { DB } from '@messenger/shared';

export interface ExportChatRow {
  chat_id: string;
  chat_name: string;
  kind: 'group' | 'direct';
  topic: string | null;
  created_at: Date;
  role: 'owner' | 'member';
  joined_at: Date;
}

export interface ExportMessageRow {
  id: string;
  chat_id: string;
  seq: number;
  text: string;
  created_at: Date;
  edited_at: Date | null;
  attachments: unknown[];
}

/** The reads of an account export, in keyset batches: each one a range scan of an index. */
export class AccountExportRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The user's chats after `afterChatId`, in id order (chat_members_user_id_idx). */
  chats(userId: string, afterChatId: string | undefined, limit: number): Promise<ExportChatRow[]> {
    let query = this.db
      .selectFrom('chat_members as cm')
      .innerJoin('chats as c', 'c.id', 'cm.chat_id')
      .select([
        'c.id as chat_id',
        'c.chat_name',
        'c.kind',
        'c.topic',
        'c.created_at',
        'cm.role',
        'cm.joined_at',
      ])
      .where('cm.user_id', '=', userId);
    if (afterChatId !== undefined) query = query.where('cm.chat_id', '>', afterChatId);
    return query.orderBy('cm.chat_id').limit(limit).execute();
  }

  /**
   * The user's messages after (`chatId`, `seq`), by chat and then in order: a range scan of
   * messages_user_id_chat_id_seq_idx (migrations/0010).
   */
  messages(
    userId: string,
    after: { chatId: string; seq: number } | undefined,
    limit: number,
  ): Promise<ExportMessageRow[]> {
    let query = this.db
      .selectFrom('messages')
      .select(['id', 'chat_id', 'seq', 'text', 'created_at', 'edited_at', 'attachments'])
      .where('user_id', '=', userId);
    // A row comparison, which PostgreSQL turns into one index range; an OR of the two cases is not.
    if (after) query = query.where(sql<boolean>`(chat_id, seq) > (${after.chatId}::uuid, ${after.seq})`);
    return query.orderBy('chat_id').orderBy('seq').limit(limit).execute();
  }
}
