import { expect } from 'chai';
import { hashSessionToken, sessionStoreKey } from '../src/auth/session-token.ts';
import { TestContext, type TestUser } from './support/test-context.ts';
import { expectError } from './support/expect-error.ts';

describe('sessions: password change, logout everywhere, the list', () => {
  let t: TestContext;
  /** A second API instance on the same database and store. */
  let other: TestContext;
  before(async () => {
    t = await TestContext.start();
    other = await TestContext.start();
  });
  after(async () => {
    await other.stop();
    await t.stop();
  });

  /** Another session of the user, logged in with a user agent of its own. */
  const login = async (user: TestUser, userAgent = 'TestPhone/1.0', password = user.password) => {
    const res = await t.raw('POST', '/v1/auth/login', {
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify({ user_name: user.userName, password }),
    });
    expect(res.status, res.text).to.equal(200);
    return (res.json as { session_id: string }).session_id;
  };
  const chatsStatus = async (ctx: TestContext, token: string) =>
    (await ctx.client(token).GET('/v1/chats', { params: { query: { limit: 1 } } })).response.status;
  const sessionRow = (token: string) =>
    t.database.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', hashSessionToken(token))
      .executeTakeFirstOrThrow();
  const storeValue = (token: string) => t.store.get(sessionStoreKey(hashSessionToken(token)));
  const ENDED = '{"ended":true}';

  describe('POST /v1/auth/password', () => {
    it('answers 401 without a session', async () => {
      expectError(
        await t.api.POST('/v1/auth/password', {
          body: { old_password: 'whatever it was', new_password: 'a new passphrase' },
        }),
        401,
        'auth-failed',
      );
    });

    it('answers 400 for a missing field or a new password under 8 characters', async () => {
      const user = await t.registerUser('pw');
      for (const [body, detail] of [
        [{ new_password: 'a new passphrase' }, /old_password/],
        [{ old_password: user.password }, /new_password/],
        [{ old_password: user.password, new_password: 'short' }, /new_password/],
        [{ old_password: user.password, new_password: 'x'.repeat(257) }, /new_password/],
      ] as Array<[unknown, RegExp]>) {
        expectError(
          await user.api.POST('/v1/auth/password', { body: body as never }),
          400,
          'bad-parameters',
          detail,
        );
      }
    });

    it('answers 403 forbidden for a wrong old password, and changes nothing', async () => {
      const user = await t.registerUser('pw');
      const second = await login(user);
      expectError(
        await user.api.POST('/v1/auth/password', {
          body: { old_password: 'not the password', new_password: 'a new passphrase' },
        }),
        403,
        'forbidden',
        /old_password/,
      );
      expect(await chatsStatus(t, user.token)).to.equal(200);
      expect(await chatsStatus(t, second)).to.equal(200);
      await login(user);
    });

    it('changes the password and ends every other session on every instance, this one kept', async () => {
      const user = await t.registerUser('pw');
      const phone = await login(user, 'Phone');
      const laptop = await login(user, 'Laptop');
      // Both are cached on the other instance's fast path (the shared store) before the change.
      expect(await chatsStatus(other, phone)).to.equal(200);
      expect(await chatsStatus(other, laptop)).to.equal(200);
      const bystander = await t.registerUser('pw-other');

      const { response, data } = await user.api.POST('/v1/auth/password', {
        body: { old_password: user.password, new_password: 'a brand new passphrase' },
      });
      expect(response.status).to.equal(200);
      expect(data).to.deep.equal({ ok: true, ended_sessions: 2 });

      for (const token of [phone, laptop]) {
        for (const ctx of [t, other]) {
          const dead = await ctx.client(token).GET('/v1/chats', { params: { query: { limit: 1 } } });
          expectError(dead, 401, 'invalid-session-id');
        }
        const row = await sessionRow(token);
        expect(row.end_reason).to.equal('password-changed');
        expect(row.ended_at).to.be.instanceOf(Date);
        expect(await storeValue(token)).to.equal(ENDED);
      }
      // The session that made the change keeps working, everywhere; so do other users' sessions.
      expect(await chatsStatus(t, user.token)).to.equal(200);
      expect(await chatsStatus(other, user.token)).to.equal(200);
      expect((await sessionRow(user.token)).ended_at).to.equal(null);
      expect(await chatsStatus(other, bystander.token)).to.equal(200);

      // Only the new password logs in, and it is stored as an argon2id hash.
      const old = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: user.password },
      });
      expectError(old, 401, 'auth-failed');
      await login(user, 'Tablet', 'a brand new passphrase');
      const stored = await t.database.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.userId)
        .executeTakeFirstOrThrow();
      expect(stored.password_hash).to.match(/^\$argon2id\$/);
    });

    it('keeps an ended session dead when the store loses its tombstone', async () => {
      const user = await t.registerUser('pw');
      const phone = await login(user);
      await user.api.POST('/v1/auth/password', {
        body: { old_password: user.password, new_password: 'a brand new passphrase' },
      });
      await t.store.del(sessionStoreKey(hashSessionToken(phone)));
      expectError(
        await other.client(phone).GET('/v1/chats', { params: { query: { limit: 1 } } }),
        401,
        'invalid-session-id',
      );
    });
  });

  describe('POST /v1/auth/logout-all', () => {
    it('answers 401 without a session', async () => {
      expectError(await t.api.POST('/v1/auth/logout-all'), 401, 'auth-failed');
    });

    it("ends every session of the caller, this one included, on every instance, and no one else's", async () => {
      const user = await t.registerUser('all');
      const phone = await login(user);
      expect(await chatsStatus(other, phone)).to.equal(200);
      const bystander = await t.registerUser('all-other');

      const { response, data } = await user.api.POST('/v1/auth/logout-all');
      expect(response.status).to.equal(200);
      expect(data).to.deep.equal({ ok: true, ended_sessions: 2 });
      for (const token of [user.token, phone]) {
        for (const ctx of [t, other]) {
          expectError(
            await ctx.client(token).GET('/v1/chats', { params: { query: { limit: 1 } } }),
            401,
            'invalid-session-id',
          );
        }
        expect((await sessionRow(token)).end_reason).to.equal('logout-all');
        expect(await storeValue(token)).to.equal(ENDED);
      }
      expect(await chatsStatus(other, bystander.token)).to.equal(200);
      // The account itself is fine: logging in again works.
      await login(user);
    });
  });

  describe('GET /v1/auth/sessions', () => {
    it('answers 401 without a session', async () => {
      expectError(await t.api.GET('/v1/auth/sessions'), 401, 'auth-failed');
    });

    it('lists the active sessions, marks the current one, and never shows a token or its hash', async () => {
      const user = await t.registerUser('list');
      const phone = await login(user, 'Phone');
      const gone = await login(user, 'Gone');
      await t.client(gone).POST('/v1/auth/logout');
      const bystander = await t.registerUser('list-other');

      const res = await t.raw('GET', '/v1/auth/sessions', {
        headers: { Authorization: `session_id ${phone}` },
      });
      expect(res.status).to.equal(200);
      const { sessions } = res.json as {
        sessions: Array<{ id: string; current: boolean; user_agent: string | null; created_at: string }>;
      };
      const ids = [await sessionRow(user.token), await sessionRow(phone)].map((r) => r.id);
      expect(sessions.map((s) => s.id)).to.have.members(ids);
      expect(sessions.filter((s) => s.current).map((s) => s.id)).to.deep.equal([
        (await sessionRow(phone)).id,
      ]);
      expect(sessions.find((s) => s.current)?.user_agent).to.equal('Phone');
      for (const session of sessions) {
        expect(Object.keys(session).sort()).to.deep.equal([
          'created_at',
          'current',
          'id',
          'last_seen_at',
          'user_agent',
        ]);
      }
      for (const secret of [user.token, phone, gone, bystander.token]) {
        expect(res.text).to.not.contain(secret);
        expect(res.text).to.not.contain(hashSessionToken(secret));
      }
    });
  });

  describe('with AUTH_DISABLED=true (no sessions)', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it('lists no sessions, ends none, and refuses password changes with 403', async () => {
      expect((await legacy.api.GET('/v1/auth/sessions')).data).to.deep.equal({ sessions: [] });
      expect((await legacy.api.POST('/v1/auth/logout-all')).data).to.deep.equal({
        ok: true,
        ended_sessions: 0,
      });
      expectError(
        await legacy.api.POST('/v1/auth/password', {
          body: { old_password: 'whatever it was', new_password: 'a new passphrase' },
        }),
        403,
        'forbidden',
      );
    });
  });
});
