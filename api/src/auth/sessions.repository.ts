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

  /**
   * The user's sessions that have not ended and were seen at or after `seenSince` (older ones have
   * expired, whether or not a request has noticed yet), most recently used first.
   */
  listActive(
    userId: string,
    seenSince: Date,
  ): Promise<Array<Pick<SessionRow, 'id' | 'created_at' | 'last_seen_at' | 'user_agent'>>> {
    return this.db
      .selectFrom('sessions')
      .select(['id', 'created_at', 'last_seen_at', 'user_agent'])
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .where('last_seen_at', '>=', seenSince)
      .orderBy('last_seen_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  /** The token hashes of the user's sessions that have not ended (but `exceptSessionId`'s). */
  async runningTokenHashes(userId: string, exceptSessionId?: string): Promise<string[]> {
    let query = this.db
      .selectFrom('sessions')
      .select('token_hash')
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null);
    if (exceptSessionId !== undefined) query = query.where('id', '<>', exceptSessionId);
    return (await query.execute()).map((r) => r.token_hash);
  }

  /**
   * Ends every running session of the user (but `exceptSessionId`); answers the token hashes of the
   * sessions it ended, whose store keys the caller must then tombstone.
   */
  async endAllForUser(
    userId: string,
    reason: SessionEndReason,
    at: Date,
    exceptSessionId?: string,
  ): Promise<string[]> {
    let query = this.db
      .updateTable('sessions')
      .set({ ended_at: at, end_reason: reason })
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null);
    if (exceptSessionId !== undefined) query = query.where('id', '<>', exceptSessionId);
    const rows = await query.returning('token_hash').execute();
    return rows.map((r) => r.token_hash);
  }
}
