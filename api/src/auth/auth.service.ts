import { AppError, OwedWrites, type Logger, type Store } from '@messenger/shared';
import type { SessionsRepository } from './sessions.repository.ts';
import type { ActiveSession } from '../schemas.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import { normalizeUserName } from './user-name.ts';
import { hashSessionToken, newSessionToken, parseAuthorization, sessionStoreKey } from './session-token.ts';
import type { Caller } from './caller.ts';
import type { PasswordHasher } from './password-hasher.ts';

export interface AuthSettings {
  sessionTtlSeconds: number;
  /** How stale `sessions.last_seen_at` may get before a request writes it again. */
  sessionTouchSeconds: number;
  /** AUTH_DISABLED mode: names are taken exactly as old clients send them (no normalising). */
  exactNames: boolean;
  /** ACCOUNT_NAME_GRACE_DAYS: how long a deleted account's name stays taken. */
  accountNameGraceDays: number;
}

/** What the store keeps per live session (the fast path). */
interface StoredSession {
  sid: string;
  uid: string;
  /** epoch ms of the last write of last_seen_at to the database */
  seen: number;
}
/** Written over a session's key when it ends, so a concurrent refill from the database cannot revive it. */
const ENDED = '{"ended":true}';

/**
 * Accounts and sessions. A session lives in the store for the fast path and in the database as the
 * record: the store is refilled from the database when it has lost a session, and a session that
 * the database says has ended never comes back.
 */
export class AuthService {
  /** Verified against when the user does not exist, so that a wrong name costs what a wrong password costs. */
  private decoyHash: Promise<string> | undefined;
  /**
   * Tombstones to take back that the store did not take back at once (keyed by token hash). Until
   * that lands, this instance reads those sessions from the database, which has the last word.
   */
  private readonly owedTakeBacks = new OwedWrites();

  constructor(
    private readonly accounts: AccountsRepository,
    private readonly sessions: SessionsRepository,
    private readonly store: Store,
    private readonly settings: AuthSettings,
    private readonly passwords: PasswordHasher,
    private readonly log: Logger,
    /** Told the token hashes of sessions that ended: their event streams close on every instance. */
    private readonly sessionsEnded: (tokenHashes: string[]) => Promise<void> = async () => {},
  ) {}

  /**
   * Creates an account. Its name is stored NFKC-normalised and trimmed, and a name that looks like
   * a taken one (other case, full-width letters) is taken; AUTH_DISABLED mode keeps names exact.
   */
  async register(rawName: string, password: string): Promise<string> {
    const exact = this.settings.exactNames;
    const userName = exact ? rawName : normalizeUserName(rawName);
    const hash = await this.passwords.hash(password);
    if (!exact) await this.accounts.releaseDeletedName(userName, this.settings.accountNameGraceDays);
    const user = await this.accounts.insert(userName, hash, !exact);
    if (!user) throw new AppError('user-already-exists', `user_name "${userName}" is taken`);
    return user.id;
  }

  async login(
    userName: string,
    password: string,
    userAgent: string | null,
  ): Promise<{ token: string; expiresAt: Date }> {
    const user = await this.accounts.findByName(userName);
    const verified = user?.password_hash
      ? await this.passwords.verify(user.password_hash, password)
      : await this.verifyDecoy(password);
    if (!user || !verified.ok) throw new AppError('auth-failed', 'wrong user_name or password');
    if (verified.stale && user.password_hash) await this.rehash(user.id, user.password_hash, password);

    const token = newSessionToken();
    const tokenHash = hashSessionToken(token);
    const session = await this.sessions.insert(user.id, tokenHash, userAgent?.slice(0, 512) ?? null);
    const now = Date.now();
    await this.remember(tokenHash, { sid: session.id, uid: user.id, seen: now }).catch((err: unknown) =>
      this.log.warn({ err }, 'store unavailable: session recorded in the database only'),
    );
    return { token, expiresAt: new Date(now + this.settings.sessionTtlSeconds * 1000) };
  }

  /** Resolves `Authorization: session_id <token>` to the caller, or throws the 401 that fits. */
  async authenticate(authorization: string | undefined): Promise<Extract<Caller, { kind: 'session' }>> {
    const parsed = parseAuthorization(authorization);
    if (!parsed) throw new AppError('auth-failed', 'send the header Authorization: session_id <token>');
    if ('malformed' in parsed)
      throw new AppError('auth-failed', 'the Authorization header must read: session_id <token>');
    const tokenHash = hashSessionToken(parsed.token);
    const key = sessionStoreKey(tokenHash);
    const ttl = this.settings.sessionTtlSeconds;

    let cached: string | null = null;
    try {
      if (!this.owedTakeBacks.has(tokenHash)) cached = await this.store.getAndTouch(key, ttl);
    } catch (err) {
      this.log.warn({ err }, 'store unavailable: reading the session from the database');
    }
    if (cached === ENDED) throw new AppError('invalid-session-id', 'the session has ended');
    if (cached) {
      const stored = JSON.parse(cached) as StoredSession;
      if (Date.now() - stored.seen >= this.settings.sessionTouchSeconds * 1000) {
        const now = new Date();
        try {
          await this.sessions.touch(stored.sid, now);
          await this.remember(tokenHash, { ...stored, seen: now.getTime() });
        } catch (err) {
          // The store vouches for the session; its database record catches up on a later request.
          this.log.warn({ err }, 'could not record session use');
        }
      }
      return { kind: 'session', userId: stored.uid, sessionId: stored.sid, tokenHash };
    }
    return this.authenticateFromDatabase(tokenHash);
  }

  /** The slow path: the store does not have the session (it expired there, or the store lost it). */
  private async authenticateFromDatabase(tokenHash: string): Promise<Extract<Caller, { kind: 'session' }>> {
    const row = await this.sessions.findByTokenHash(tokenHash);
    if (!row) throw new AppError('invalid-session-id', 'no such session');
    if (row.ended_at) {
      throw row.end_reason === 'expired'
        ? new AppError('session-id-expired', 'the session has expired: log in again')
        : new AppError('invalid-session-id', 'the session has ended');
    }
    const now = new Date();
    if (now.getTime() - new Date(row.last_seen_at).getTime() >= this.settings.sessionTtlSeconds * 1000) {
      await this.sessions.end(row.id, 'expired', now);
      throw new AppError('session-id-expired', 'the session has expired: log in again');
    }
    await this.sessions.touch(row.id, now);
    const value = JSON.stringify({
      sid: row.id,
      uid: row.user_id,
      seen: now.getTime(),
    } satisfies StoredSession);
    // NX: a logout that wrote its tombstone meanwhile wins over this refill.
    await this.store
      .setIfAbsent(sessionStoreKey(tokenHash), value, this.settings.sessionTtlSeconds)
      .catch(() => false);
    return { kind: 'session', userId: row.user_id, sessionId: row.id, tokenHash };
  }

  /**
   * Ends the caller's session everywhere, or changes nothing and answers 503. The store's tombstone
   * goes first: it ends the session on every instance at once and keeps a refill from the database
   * from reviving it. Then the database record; if that fails, the tombstone is taken back, so the
   * session is neither half-ended (alive in the database, dead in the store) nor revived later.
   */
  async logout(caller: Extract<Caller, { kind: 'session' }>): Promise<void> {
    await this.endEverywhere([caller.tokenHash], async () => {
      await this.sessions.end(caller.sessionId, 'logout', new Date());
      return [caller.tokenHash];
    });
  }

  /**
   * How long the session of this token hash has left, in milliseconds, without using it (a stream
   * open on it does not keep it alive); undefined when it has ended or expired.
   */
  async sessionLeftMs(tokenHash: string): Promise<number | undefined> {
    const key = sessionStoreKey(tokenHash);
    try {
      const cached = await this.store.get(key);
      if (cached === ENDED) return undefined;
      if (cached) {
        const ttl = await this.store.ttl(key);
        if (ttl > 0) return ttl * 1000;
      }
    } catch (err) {
      this.log.warn({ err }, 'store unavailable: reading the session from the database');
    }
    const row = await this.sessions.findByTokenHash(tokenHash);
    if (!row || row.ended_at) return undefined;
    const left = this.settings.sessionTtlSeconds * 1000 - (Date.now() - new Date(row.last_seen_at).getTime());
    return left > 0 ? left : undefined;
  }

  private announceEnded(tokenHashes: string[]): void {
    this.sessionsEnded(tokenHashes).catch((err: unknown) =>
      this.log.warn({ err }, 'could not close the streams of ended sessions on other instances'),
    );
  }

  /**
   * Changes the caller's password and ends every other session of theirs, everywhere (the database's
   * part, with the new hash, in one transaction) or not at all. Answers how many sessions it ended.
   */
  async changePassword(
    caller: Extract<Caller, { kind: 'session' }>,
    oldPassword: string,
    newPassword: string,
  ): Promise<number> {
    const user = await this.accounts.findById(caller.userId);
    if (!user?.password_hash || !(await this.passwords.verify(user.password_hash, oldPassword)).ok) {
      // 403, not 401: the session is fine, and a client must not read this as "log in again".
      throw new AppError('forbidden', 'old_password is wrong');
    }
    const currentHash = user.password_hash;
    const newHash = await this.passwords.hash(newPassword);
    const running = await this.sessions.runningTokenHashes(caller.userId, caller.sessionId);
    const ended = await this.endEverywhere(running, () =>
      this.accounts.changePassword(
        caller.userId,
        currentHash,
        newHash,
        caller.sessionId,
        'password-changed',
        new Date(),
      ),
    );
    if (!ended) throw new AppError('forbidden', 'old_password is wrong (the password changed meanwhile)');
    return ended.length;
  }

  /**
   * Re-authentication for what a session alone must not do (deleting the account): 403, not 401, on
   * a wrong password, as for a password change.
   */
  async requirePassword(userId: string, password: string): Promise<void> {
    const user = await this.accounts.findById(userId);
    if (!user?.password_hash || !(await this.passwords.verify(user.password_hash, password)).ok) {
      throw new AppError('forbidden', 'password is wrong');
    }
  }

  /**
   * Ends every running session of the user everywhere, for a change whose database step ends them
   * (account deletion), or changes nothing: as logout-all, the store's tombstones go first and are
   * taken back if `endInDatabase` fails. Answers what `endInDatabase` answered.
   */
  async endAllSessionsWith<T extends { endedSessions: string[] }>(
    userId: string,
    endInDatabase: () => Promise<T>,
  ): Promise<T> {
    let outcome: T | undefined;
    await this.endEverywhere(await this.sessions.runningTokenHashes(userId), async () => {
      outcome = await endInDatabase();
      return outcome.endedSessions;
    });
    return outcome!;
  }

  /** Ends every session of the caller, this one included. Answers how many it ended. */
  async logoutAll(caller: Extract<Caller, { kind: 'session' }>): Promise<number> {
    const running = await this.sessions.runningTokenHashes(caller.userId);
    const ended = await this.endEverywhere(running, () =>
      this.sessions.endAllForUser(caller.userId, 'logout-all', new Date()),
    );
    return ended!.length;
  }

  /** The caller's sessions that have neither ended nor expired, the calling one marked `current`. */
  async activeSessions(caller: Extract<Caller, { kind: 'session' }>): Promise<ActiveSession[]> {
    const seenSince = new Date(Date.now() - this.settings.sessionTtlSeconds * 1000);
    const rows = await this.sessions.listActive(caller.userId, seenSince);
    return rows.map((row) => ({
      id: row.id,
      created_at: new Date(row.created_at).toISOString(),
      last_seen_at: new Date(row.last_seen_at).toISOString(),
      user_agent: row.user_agent,
      current: row.id === caller.sessionId,
    }));
  }

  /**
   * Ends the `running` sessions everywhere, or changes nothing and answers 503, as `logout` does for
   * one: the tombstones go first, then the database (`endInDatabase`, which answers the token hashes
   * it ended, or undefined when it refused); if that fails or refuses, the tombstones are taken
   * back. Ending in the database first would leave a session the store still holds as alive when
   * the store fails, and a retry would then find nothing left to end. A session that started in
   * between is ended by the database step and tombstoned after it.
   */
  private async endEverywhere(
    running: string[],
    endInDatabase: () => Promise<string[] | undefined>,
  ): Promise<string[] | undefined> {
    await this.tombstone(running);
    let ended: string[] | undefined;
    try {
      ended = await endInDatabase();
    } catch (err) {
      await this.untombstone(running);
      throw err;
    }
    if (!ended) {
      await this.untombstone(running);
      return undefined;
    }
    const late = ended.filter((hash) => !running.includes(hash));
    if (late.length > 0) await this.tombstone(late);
    this.announceEnded(ended);
    return ended;
  }

  /**
   * Writes the ENDED tombstone over the store keys of these sessions, so that they are dead on every
   * instance at once (and a refill from the database cannot revive them). All or none: when the
   * store fails part-way, the ones written are taken back before the 503.
   */
  private async tombstone(tokenHashes: string[]): Promise<void> {
    try {
      await Promise.all(
        tokenHashes.map(async (hash) => {
          await this.store.set(sessionStoreKey(hash), ENDED, this.settings.sessionTtlSeconds);
          this.owedTakeBacks.forgive(hash);
        }),
      );
    } catch (err) {
      await this.untombstone(tokenHashes);
      throw new AppError('service-unavailable', 'the session store does not answer: try again', {
        cause: err,
      });
    }
  }

  /**
   * Takes tombstones back: the next request reads those sessions from the database again. One the
   * store does not take back now is retried until it lands: a write that timed out on a frozen
   * store may still be applied when it thaws, and that tombstone would end a session the database
   * keeps and the call said it did not end.
   */
  private async untombstone(tokenHashes: string[]): Promise<void> {
    await Promise.all(
      tokenHashes.map(async (hash) => {
        const takeBack = () => this.store.del(sessionStoreKey(hash));
        try {
          await takeBack();
        } catch (err) {
          this.log.warn({ err }, 'could not take a session tombstone back: retrying in the background');
          this.owedTakeBacks.owe(hash, takeBack);
        }
      }),
    );
  }

  private remember(tokenHash: string, session: StoredSession): Promise<void> {
    return this.store.set(
      sessionStoreKey(tokenHash),
      JSON.stringify(session),
      this.settings.sessionTtlSeconds,
    );
  }

  /** A hash made with today's parameters, so a wrong name costs exactly what a wrong password costs. */
  private async verifyDecoy(password: string): Promise<{ ok: false; stale: false }> {
    this.decoyHash ??= this.passwords.hash('decoy password that no one has').catch((err: unknown) => {
      this.decoyHash = undefined;
      throw err;
    });
    await this.passwords.verify(await this.decoyHash, password);
    return { ok: false, stale: false };
  }

  /**
   * The password is known to be right: replace a hash of older parameters (the library defaults of
   * before, say) with one of today's. A failure is only logged: the login stands, and the next one
   * tries again.
   */
  private async rehash(userId: string, oldHash: string, password: string): Promise<void> {
    try {
      await this.accounts.rehashPassword(userId, oldHash, await this.passwords.hash(password));
    } catch (err) {
      this.log.warn({ err }, "could not rehash a password with today's parameters");
    }
  }
}
