import { AppError } from '@messenger/shared';
import type { ActingUser } from '../auth/acting-user.ts';
import type { Caller } from '../auth/caller.ts';
import { isWellFormedId } from '../http/ids.ts';
import type { ProfileRow, UserProfilesRepository, UserSearch } from './users.repository.ts';

export interface UserProfile {
  user_id: string;
  user_name: string;
  display_name: string | null;
  created_at: string;
}

/** The rules of profiles and of finding people. */
export class UsersService {
  constructor(
    private readonly profiles: UserProfilesRepository,
    private readonly actingUser: ActingUser,
  ) {}

  /** The caller's profile (in AUTH_DISABLED mode, the `?user_id=` user's). */
  async me(caller: Caller, userIdParam: string | undefined): Promise<UserProfile> {
    const userId = await this.actingUser.resolve(caller, userIdParam, true);
    return this.get(userId);
  }

  async get(userId: string): Promise<UserProfile> {
    const row = isWellFormedId(userId) ? await this.profiles.findById(userId) : undefined;
    if (!row) throw new AppError('user-not-found', `no user with id "${userId}"`);
    return toProfile(row);
  }

  /** Sets or (with null) clears the caller's display name. */
  async setDisplayName(
    caller: Caller,
    userIdParam: string | undefined,
    displayName: string | null,
  ): Promise<UserProfile> {
    const userId = await this.actingUser.resolve(caller, userIdParam, true);
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
