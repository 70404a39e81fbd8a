import type { Kysely } from 'kysely';
import type { DB, UserRow } from '@messenger/shared';

/** The only code that reads or writes `users`. "Not found" is `undefined`; services decide what it means. */
export class UsersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByName(userName: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('user_name', '=', userName).executeTakeFirst();
  }

  /** Inserts a user; answers `undefined` when the name is taken. */
  async insert(userName: string, passwordHash: string | null): Promise<UserRow | undefined> {
    return this.db
      .insertInto('users')
      .values({ user_name: userName, password_hash: passwordHash })
      .onConflict((oc) => oc.column('user_name').doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** The user of that name, created without a password if there is none (AUTH_DISABLED mode). */
  async findOrCreate(userName: string): Promise<UserRow> {
    const created = await this.insert(userName, null);
    if (created) return created;
    const existing = await this.findByName(userName);
    if (!existing) throw new Error(`user ${userName} vanished between insert and select`);
    return existing;
  }
}
