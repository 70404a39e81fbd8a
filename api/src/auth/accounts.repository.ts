import { sql, type Kysely } from 'kysely';
import type { DB, SessionEndReason, UserRow } from '@messenger/shared';

/**
 * Accounts in `users`: names, password hashes, sign-up. Profiles are read and written by
 * `users/users.repository.ts`. "Not found" is `undefined`; services decide what it means. A deleted
 * account (migrations/0010) is never found: its row stays only as the author of its messages.
 */
export class AccountsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  /**
   * The user of that name: the exact name first, else the account whose key (NFKC, trimmed, lower
   * case; migration 0007) matches, so `ALICE` and `ａlice` find `alice`.
   */
  findByName(userName: string): Promise<UserRow | undefined> {
    return (
      this.db
        .selectFrom('users')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('user_name', '=', userName),
            eb('name_key', '=', sql<string>`lower(normalize(btrim(${userName}), NFKC))`),
          ]),
        )
        // A deleted account keeps its name's key through the grace period, but is no one.
        .where('deleted_at', 'is', null)
        .orderBy(sql`user_name = ${userName}`, 'desc')
        .limit(1)
        .executeTakeFirst()
    );
  }

  /**
   * Inserts a user; answers `undefined` when the name is taken. A `keyed` name also takes its key,
   * so a look-alike of an existing name is taken too; AUTH_DISABLED names are exact (unkeyed).
   */
  async insert(userName: string, passwordHash: string | null, keyed = true): Promise<UserRow | undefined> {
    return this.db
      .insertInto('users')
      .values({
        user_name: userName,
        password_hash: passwordHash,
        name_key: keyed ? sql<string>`lower(normalize(btrim(${userName}), NFKC))` : null,
      })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Replaces the password hash, if it still is `expectedHash` (a concurrent change wins once), and
   * ends every other session of the user, in one transaction: both or neither. Answers the ended
   * sessions' token hashes, or `undefined` when the hash had changed meanwhile.
   */
  changePassword(
    userId: string,
    expectedHash: string,
    newHash: string,
    keepSessionId: string,
    reason: SessionEndReason,
    at: Date,
  ): Promise<string[] | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('users')
        .set({ password_hash: newHash })
        .where('id', '=', userId)
        .where('password_hash', '=', expectedHash)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return undefined;
      const ended = await trx
        .updateTable('sessions')
        .set({ ended_at: at, end_reason: reason })
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('id', '<>', keepSessionId)
        .returning('token_hash')
        .execute();
      return ended.map((r) => r.token_hash);
    });
  }

  /**
   * Frees the name (and its look-alikes) from an account deleted at least `graceDays` ago: its key
   * is cleared, so a registration of the name can take it. Checked at registration rather than by
   * a timer: nothing needs the key cleared until someone wants the name.
   */
  async releaseDeletedName(userName: string, graceDays: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ name_key: null })
      .where('name_key', '=', sql<string>`lower(normalize(btrim(${userName}), NFKC))`)
      .where('deleted_at', 'is not', null)
      .where('deleted_at', '<=', sql<Date>`now() - make_interval(days => ${graceDays})`)
      .execute();
  }

  /**
   * Replaces a hash of older parameters with one of today's for the same password, if it is still
   * `expectedHash` (a password change meanwhile wins). Answers whether it did.
   */
  async rehashPassword(userId: string, expectedHash: string, newHash: string): Promise<boolean> {
    const updated = await this.db
      .updateTable('users')
      .set({ password_hash: newHash })
      .where('id', '=', userId)
      .where('password_hash', '=', expectedHash)
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n;
  }

  /** The user of that name, created without a password if there is none (AUTH_DISABLED mode). */
  async findOrCreate(userName: string): Promise<UserRow> {
    const created = await this.insert(userName, null, false);
    if (created) return created;
    const existing = await this.db
      .selectFrom('users')
      .selectAll()
      .where('user_name', '=', userName)
      .executeTakeFirst();
    if (!existing) throw new Error(`user ${userName} vanished between insert and select`);
    return existing;
  }
}
