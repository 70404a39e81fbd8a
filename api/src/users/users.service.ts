import { AppError } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import { isWellFormedId } from '../paging/ids.ts';
import type { UserProfile } from '../schemas.ts';
import type { ProfileRow, UserProfilesRepository, UserSearch } from './users.repository.ts';

/** The rules of profiles and of finding people. */
export class UsersService {
  constructor(private readonly profiles: UserProfilesRepository) {}

  /** The caller's profile (in AUTH_DISABLED mode, the `?user_id=` user's). */
  async me(actor: Actor): Promise<UserProfile> {
    return this.get(actor.id);
  }

  async get(userId: string): Promise<UserProfile> {
    const row = isWellFormedId(userId) ? await this.profiles.findById(userId) : undefined;
    if (!row) throw new AppError('user-not-found', `no user with id "${userId}"`);
    return toProfile(row);
  }

  /** Sets or (with null) clears the caller's display name. */
  async setDisplayName(actor: Actor, displayName: string | null): Promise<UserProfile> {
    const userId = actor.id;
    if (displayName !== null && displayName.trim() === '') {
      throw new AppError('bad-parameters', 'body field "display_name" must not be only white space');
    }
    const row = await this.profiles.setDisplayName(userId, displayName);
    if (!row) throw new AppError('user-not-found', `no user with id "${userId}"`);
    return toProfile(row);
  }

  async search(q: UserSearch): Promise<{ users: UserProfile[] }> {
    return { users: (await this.profiles.search(q)).map(toProfile) };
  }
}

function toProfile(row: ProfileRow): UserProfile {
  return {
    user_id: row.id,
    user_name: row.user_name,
    display_name: row.display_name,
    created_at: new Date(row.created_at).toISOString(),
  };
}
