import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { Reaction } from '../schemas.ts';
import { reactionsOf } from './reactions.sql.ts';

/** What a reaction change did: nothing to do it on, one emoji too many, or (un)changed and the count now. */
export type ReactionChange = { missing: 'message' } | { tooMany: true } | { changed: boolean; count: number };

/** Run in the transaction of a change that happened (its event), before it commits. */
export type OnChanged = (trx: Transaction<DB>, count: number) => Promise<void>;

/** Reactions (`message_reactions`, migrations/0009): adding, taking back, reading. */
export class ReactionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Adds the user's reaction, unless they have it already (then nothing changes). The message row
   * is locked first, so two new emoji at once cannot both pass the distinct limit, and a message
   * being deleted is either still there or gone, never half.
   */
  add(
    chatId: string,
    messageId: string,
    userId: string,
    emoji: string,
    maxDistinct: number,
    onChanged: OnChanged,
  ): Promise<ReactionChange> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.lockMessage(trx, chatId, messageId))) return { missing: 'message' };
      const counts = await trx
        .selectFrom('message_reactions')
        .select(['emoji', (eb) => eb.fn.countAll<string>().as('n')])
        .where('message_id', '=', messageId)
        .groupBy('emoji')
        .execute();
      const before = counts.find((c) => c.emoji === emoji);
      if (!before && counts.length >= maxDistinct) return { tooMany: true };
      const inserted = await trx
        .insertInto('message_reactions')
        .values({ message_id: messageId, emoji, user_id: userId })
        .onConflict((oc) => oc.doNothing())
        .returning('emoji')
        .executeTakeFirst();
      const count = Number(before?.n ?? 0) + (inserted ? 1 : 0);
      if (inserted) await onChanged(trx, count);
      return { changed: inserted !== undefined, count };
    });
  }

  /** Takes the user's reaction back, if they have it (otherwise nothing changes). */
  remove(
    chatId: string,
    messageId: string,
    userId: string,
    emoji: string,
    onChanged: OnChanged,
  ): Promise<ReactionChange> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.lockMessage(trx, chatId, messageId))) return { missing: 'message' };
      const deleted = await trx
        .deleteFrom('message_reactions')
        .where('message_id', '=', messageId)
        .where('emoji', '=', emoji)
        .where('user_id', '=', userId)
        .returning('emoji')
        .executeTakeFirst();
      const left = await trx
        .selectFrom('message_reactions')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('message_id', '=', messageId)
        .where('emoji', '=', emoji)
        .executeTakeFirstOrThrow();
      const count = Number(left.n);
      if (deleted) await onChanged(trx, count);
      return { changed: deleted !== undefined, count };
    });
  }

  /** A message's reactions as `viewer` sees them. */
  async list(messageId: string, viewer: string | undefined): Promise<Reaction[]> {
    const row = await this.db
      .selectNoFrom(reactionsOf(sql.val(messageId), viewer).as('reactions'))
      .executeTakeFirstOrThrow();
    return row.reactions;
  }

  private async lockMessage(trx: Transaction<DB>, chatId: string, messageId: string): Promise<boolean> {
    const row = await trx
      .selectFrom('messages')
      .select('id')
      .where('id', '=', messageId)
      .where('chat_id', '=', chatId)
      .forNoKeyUpdate()
      .executeTakeFirst();
    return row !== undefined;
  }
}
