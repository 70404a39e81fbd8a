import type { Kysely } from 'kysely';
import type { DB, SessionEndReason, SessionRow } from '@messenger/shared';

/** The record of sessions in the database: the source of truth behind the store's fast path. */
export class SessionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  insert(userId: string, tokenHash: string, userAgent: string | null): Promise<SessionRow> {
    return this.db
      .insertInto('sessions')
      .values({ user_id: userId, token_hash: tokenHash, user_agent: userAgent })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findByTokenHash(tokenHash: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  async touch(sessionId: string, at: Date): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ last_seen_at: at })
      .where('id', '=', sessionId)
      .where('ended_at', 'is', null)
      .execute();
  }

  /** Ends a session once; answers whether this call ended it. */
  async end(sessionId: string, reason: SessionEndReason, at: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ ended_at: at, end_reason: reason })
      .where('id', '=', sessionId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
