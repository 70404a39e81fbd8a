import { sql, type Kysely, type NotNull } from 'kysely';
import type { DB } from '@messenger/shared';

/** What a profile is made of: never the password hash. */
export interface ProfileRow {
  id: string;
  user_name: string;
  display_name: string | null;
  created_at: Date;
}

export interface UserSearch {
  userName?: string;
  userNamePrefix?: string;
  orderBy: 'user_name' | 'created_at';
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** Escapes LIKE's wildcards (`%`, `_`) and its escape character (`\`), so the text matches itself. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Public profiles: the only Kysely code of the users area. "Not found" is `undefined`; a deleted
 * account (migrations/0010) has no profile and is never found.
 */
export class UserProfilesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(id: string): Promise<ProfileRow | undefined> {
    return this.db
      .selectFrom('users')
      .select(['id', 'user_name', 'display_name', 'created_at'])
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .$narrowType<{ user_name: NotNull }>()
      .executeTakeFirst();
  }

  setDisplayName(id: string, displayName: string | null): Promise<ProfileRow | undefined> {
    return this.db
      .updateTable('users')
      .set({ display_name: displayName })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(['id', 'user_name', 'display_name', 'created_at'])
      .$narrowType<{ user_name: NotNull }>()
      .executeTakeFirst();
  }

  /**
   * A page of users. The prefix is a LIKE with its wildcards escaped (`\` is LIKE's default escape),
   * so PostgreSQL turns it into a range scan of users_user_name_pattern_idx (migration 0005).
   */
  search(q: UserSearch): Promise<ProfileRow[]> {
    return this.searchQuery(q).execute();
  }

  /** The plan PostgreSQL chooses for `search` (EXPLAIN): for tests and for operators. */
  async planOfSearch(q: UserSearch): Promise<string> {
    const rows = await this.searchQuery(q).explain();
    return rows.map((row) => String(Object.values(row)[0])).join('\n');
  }

  private searchQuery(q: UserSearch) {
    let query = this.db
      .selectFrom('users')
      .select(['id', 'user_name', 'display_name', 'created_at'])
      .where('deleted_at', 'is', null)
      .$narrowType<{ user_name: NotNull }>();
    if (q.userName !== undefined) query = query.where('user_name', '=', q.userName);
    if (q.userNamePrefix !== undefined) {
      query = query.where('user_name', 'like', `${escapeLike(q.userNamePrefix)}%`);
    }
    return query
      .orderBy(q.orderBy === 'user_name' ? sql.ref('user_name') : sql.ref('created_at'), q.order)
      .orderBy('id', q.order)
      .limit(q.limit)
      .offset(q.offset);
  }
}
