import type { Kysely, Transaction } from 'kysely';
import type { DB } from '@messenger/shared';

/** A pin as stored (`chat_pins`, migrations/0010); the message itself is read as history shows it. */
export interface PinRow {
  message_id: string;
  pinned_by: string;
  pinned_at: Date;
}

/** Pinned messages: the only Kysely code of pins. */
export class PinsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /** Whether the chat holds that message (a pin is of a message of its own chat). */
  async messageInChat(trx: Transaction<DB>, chatId: string, messageId: string): Promise<boolean> {
    const row = await trx
      .selectFrom('messages')
      .select('id')
      .where('id', '=', messageId)
      .where('chat_id', '=', chatId)
      .executeTakeFirst();
    return row !== undefined;
  }

  find(db: Kysely<DB> | Transaction<DB>, chatId: string, messageId: string): Promise<PinRow | undefined> {
    return db
      .selectFrom('chat_pins')
      .select(['message_id', 'pinned_by', 'pinned_at'])
      .where('chat_id', '=', chatId)
      .where('message_id', '=', messageId)
      .executeTakeFirst();
  }

  async count(trx: Transaction<DB>, chatId: string): Promise<number> {
    const row = await trx
      .selectFrom('chat_pins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('chat_id', '=', chatId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  insert(trx: Transaction<DB>, chatId: string, messageId: string, userId: string): Promise<PinRow> {
    return trx
      .insertInto('chat_pins')
      .values({ chat_id: chatId, message_id: messageId, pinned_by: userId })
      .returning(['message_id', 'pinned_by', 'pinned_at'])
      .executeTakeFirstOrThrow();
  }

  /** Answers whether there was a pin to remove. */
  async remove(trx: Transaction<DB>, chatId: string, messageId: string): Promise<boolean> {
    const row = await trx
      .deleteFrom('chat_pins')
      .where('chat_id', '=', chatId)
      .where('message_id', '=', messageId)
      .returning('message_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The chat's pins, newest first (chat_pins_chat_id_pinned_at_idx, read backwards). */
  list(chatId: string, limit: number): Promise<PinRow[]> {
    return this.db
      .selectFrom('chat_pins')
      .select(['message_id', 'pinned_by', 'pinned_at'])
      .where('chat_id', '=', chatId)
      .orderBy('pinned_at', 'desc')
      .orderBy('message_id', 'desc')
      .limit(limit)
      .execute();
  }
}
