import { AppError } from '@messenger/shared';
import { isWellFormedId } from '../paging/ids.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import type { Caller } from './caller.ts';

/**
 * The user a request acts as, resolved once at the HTTP edge from the caller and the legacy
 * `?user_id=`: with a session, the session's user (a `user_id` naming anyone else is refused); in
 * AUTH_DISABLED mode, whoever `user_id` names. A refusal is kept and thrown only when a service asks
 * for the user, so each operation keeps its own order of checks: without a session the original
 * API names an unknown chat before an unknown user.
 */
export class Actor {
  private constructor(
    private readonly userId: string | undefined,
    /**
     * Made only when thrown: most requests that carry one never throw it (anonymous `/ping`), and an
     * Error captures a stack trace when constructed (7% of /ping's CPU when it was made eagerly).
     */
    private readonly refusal: (() => AppError) | undefined,
    /** true for a logged-in user, false for the trusted client of AUTH_DISABLED mode */
    readonly hasSession: boolean,
    /**
     * Who acts, as a stable string for keys kept per user (Idempotency-Key records): the session's
     * user, or the `user_id` a trusted client sent, as it sent it.
     */
    readonly scope: string,
    /** AUTH_DISABLED mode without `user_id`: some operations allow that (see idIfNamed). */
    private readonly nobodyNamed = false,
  ) {}

  static session(userId: string): Actor {
    return new Actor(userId, undefined, true, `u:${userId}`);
  }

  static trusted(userId: string | undefined, named: string | undefined = userId): Actor {
    const refusal =
      named === undefined
        ? () => new AppError('bad-parameters', 'query parameter "user_id" is required')
        : userId === undefined
          ? () => new AppError('user-not-found', `no user with id "${named}"`)
          : undefined;
    return new Actor(userId, refusal, false, `t:${named ?? ''}`, named === undefined);
  }

  static refused(refusal: () => AppError, hasSession: boolean, scope = ''): Actor {
    return new Actor(undefined, refusal, hasSession, scope);
  }

  /** The acting user; throws the refusal when there is none. */
  get id(): string {
    if (this.userId === undefined) throw this.refusal?.();
    return this.userId;
  }

  /** The acting user, or undefined when a trusted client named nobody (an operation that allows it). */
  get idIfNamed(): string | undefined {
    if (this.userId === undefined && !this.nobodyNamed) throw this.refusal?.();
    return this.userId;
  }
}

/** Resolves who acts for a request (see Actor). Only AUTH_DISABLED mode looks the user up. */
export async function resolveActor(
  caller: Caller,
  userIdParam: string | undefined,
  accounts: AccountsRepository,
): Promise<Actor> {
  switch (caller.kind) {
    case 'session':
      return userIdParam !== undefined && userIdParam !== caller.userId
        ? Actor.refused(
            () => new AppError('forbidden', 'user_id must be your own user id (or be left out)'),
            true,
            `u:${caller.userId}`,
          )
        : Actor.session(caller.userId);
    case 'trusted': {
      if (userIdParam === undefined) return Actor.trusted(undefined);
      const known = isWellFormedId(userIdParam) && (await accounts.findById(userIdParam)) !== undefined;
      return Actor.trusted(known ? userIdParam : undefined, userIdParam);
    }
    case 'anonymous':
      return Actor.refused(() => new AppError('auth-failed', 'this operation needs a session'), false);
  }
}
