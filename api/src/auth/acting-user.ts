import { AppError } from '@messenger/shared';
import { isWellFormedId } from '../http/ids.ts';
import type { Caller } from './caller.ts';
import type { UsersRepository } from './users.repository.ts';

/**
 * The user a request acts as. With a session it is the session's user, and a `?user_id=` that
 * names someone else is refused. In AUTH_DISABLED mode it is whoever `?user_id=` names.
 */
export class ActingUser {
  constructor(private readonly users: UsersRepository) {}

  async resolve(caller: Caller, userIdParam: string | undefined, required: true): Promise<string>;
  async resolve(
    caller: Caller,
    userIdParam: string | undefined,
    required: boolean,
  ): Promise<string | undefined>;
  async resolve(
    caller: Caller,
    userIdParam: string | undefined,
    required: boolean,
  ): Promise<string | undefined> {
    if (caller.kind === 'session') {
      if (userIdParam !== undefined && userIdParam !== caller.userId) {
        throw new AppError('forbidden', 'user_id must be your own user id (or be left out)');
      }
      return caller.userId;
    }
    if (userIdParam === undefined) {
      if (required) throw new AppError('bad-parameters', 'query parameter "user_id" is required');
      return undefined;
    }
    if (!isWellFormedId(userIdParam) || !(await this.users.findById(userIdParam))) {
      throw new AppError('user-not-found', `no user with id "${userIdParam}"`);
    }
    return userIdParam;
  }
}
