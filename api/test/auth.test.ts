import { expect } from 'chai';
import { MemoryStore } from '@messenger/shared';
import { hashSessionToken, sessionStoreKey } from '../src/auth/session-token.ts';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('accounts and sessions', () => {
  let t: TestContext;
  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  const sessionRow = (token: string) =>
    t.database.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', hashSessionToken(token))
      .executeTakeFirst();

  describe('POST /v1/auth/register', () => {
    it('answers 400 bad-parameters for a missing field, a wrong type, a short password or a long name', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ password: 'long enough password' }, /user_name/],
        [{ user_name: 'x' }, /password/],
        [{ user_name: 42, password: 'long enough password' }, /user_name/],
        [{ user_name: 'someone', password: 'short' }, /password/],
        [{ user_name: 'n'.repeat(256), password: 'long enough password' }, /user_name/],
        [{ user_name: '', password: 'long enough password' }, /user_name/],
      ];
      for (const [body, detail] of cases) {
        const { response, error } = await t.api.POST('/v1/auth/register', { body: body as never });
        expect(response.status, JSON.stringify(body)).to.equal(400);
        expect(error?.message).to.equal('bad-parameters');
        expect(error?.detail).to.match(detail);
      }
    });

    it('creates the user with an argon2id hash, never the password itself', async () => {
      const userName = uniqueName('reg');
      const { response, data } = await t.api.POST('/v1/auth/register', {
        body: { user_name: userName, password: 'correct horse battery' },
      });
      expect(response.status).to.equal(201);
      const row = await t.database.db
        .selectFrom('users')
        .selectAll()
        .where('user_name', '=', userName)
        .executeTakeFirstOrThrow();
      expect(row.id).to.equal(data?.user_id);
      expect(row.password_hash).to.match(/^\$argon2id\$/);
      expect(row.password_hash).to.not.contain('correct horse battery');
    });

    it('answers 409 user-already-exists for a taken name and leaves the first account alone', async () => {
      const user = await t.registerUser('taken');
      const { response, error } = await t.api.POST('/v1/auth/register', {
        body: { user_name: user.userName, password: 'another password' },
      });
      expect(response.status).to.equal(409);
      expect(error?.message).to.equal('user-already-exists');
      const login = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: user.password },
      });
      expect(login.response.status).to.equal(200);
    });
  });

  describe('user names that look the same', () => {
    const password = 'correct horse battery';
    const register = (userName: string) =>
      t.api.POST('/v1/auth/register', { body: { user_name: userName, password } });

    it('stores a new name NFKC-normalised and trimmed, and refuses its look-alikes with 409', async () => {
      const base = uniqueName('look');
      const fullWidth = [...base]
        .map((c) => (/[a-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
        .join('');
      const first = await register(`  ${fullWidth} `);
      expect(first.response.status).to.equal(201);
      const row = await t.database.db
        .selectFrom('users')
        .select(['user_name', 'name_key'])
        .where('id', '=', first.data!.user_id)
        .executeTakeFirstOrThrow();
      expect(row.user_name).to.equal(base);
      expect(row.name_key).to.equal(base.toLowerCase());
      for (const lookAlike of [base, base.toUpperCase(), `${base} `, ` ${fullWidth}`]) {
        const again = await register(lookAlike);
        expect(again.response.status, lookAlike).to.equal(409);
        expect(again.error?.message).to.equal('user-already-exists');
      }
      const users = await t.database.db
        .selectFrom('users')
        .select('id')
        .where('name_key', '=', base.toLowerCase())
        .execute();
      expect(users).to.have.length(1);
    });

    it('logs in whatever the case or width of the name', async () => {
      const base = uniqueName('case');
      expect((await register(base)).response.status).to.equal(201);
      for (const spelled of [base.toUpperCase(), ` ${base}`]) {
        const login = await t.api.POST('/v1/auth/login', { body: { user_name: spelled, password } });
        expect(login.response.status, spelled).to.equal(200);
      }
    });

    it('answers 400 bad-parameters for a name of spaces, control or invisible characters, and stores nothing', async () => {
      const before = await t.database.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      for (const userName of ['   ', '\t', 'ali\u0007ce', 'ali\u200bce', '\u3000']) {
        const { response, error } = await register(userName);
        expect(response.status, JSON.stringify(userName)).to.equal(400);
        expect(error?.message).to.equal('bad-parameters');
        expect(error?.detail).to.match(/user_name/);
      }
      const after = await t.database.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(after.n)).to.equal(Number(before.n));
    });
  });

  describe('POST /v1/auth/login', () => {
    it('answers a session token of at least 128 random bits and when it expires', async () => {
      const user = await t.registerUser('login');
      const before = Date.now();
      const { response, data } = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: user.password },
      });
      expect(response.status).to.equal(200);
      expect(Buffer.from(data!.session_id, 'base64url').length).to.be.at.least(16);
      expect(data!.session_id).to.not.equal(user.token);
      const expiresIn = Date.parse(data!.expires_at) - before;
      expect(expiresIn).to.be.closeTo(t.config.auth.sessionTtlSeconds * 1000, 5_000);
    });

    it('records the session in the database by hash only, with its user agent', async () => {
      const user = await t.registerUser('record');
      const row = await sessionRow(user.token);
      expect(row?.user_id).to.equal(user.userId);
      expect(row?.ended_at).to.equal(null);
      const all = await t.database.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', user.userId)
        .execute();
      expect(JSON.stringify(all)).to.not.contain(user.token);
    });

    it('gives the same 401 auth-failed for a wrong password and for an unknown user', async () => {
      const user = await t.registerUser('wrong');
      const wrongPassword = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: 'not the password' },
      });
      const unknownUser = await t.api.POST('/v1/auth/login', {
        body: { user_name: uniqueName('ghost'), password: user.password },
      });
      expect(wrongPassword.response.status).to.equal(401);
      expect(unknownUser.response.status).to.equal(401);
      expect(wrongPassword.error).to.deep.equal(unknownUser.error);
      expect(wrongPassword.error?.message).to.equal('auth-failed');
    });

    it('answers 400 bad-parameters for a body without a password', async () => {
      const { response, error } = await t.api.POST('/v1/auth/login', { body: { user_name: 'x' } as never });
      expect(response.status).to.equal(400);
      expect(error?.message).to.equal('bad-parameters');
    });
  });

  describe('Authorization: session_id <token> (or Bearer <token>)', () => {
    let user: TestUser;
    before(async () => {
      user = await t.registerUser('authz');
    });

    const listChats = (headers: Record<string, string>) => t.raw('GET', '/v1/chats?limit=10', { headers });

    it('answers 401 auth-failed without the header, and for a header of another form, with the challenge', async () => {
      for (const headers of [
        {} as Record<string, string>,
        { Authorization: `Basic ${user.token}` },
        { Authorization: 'session_id' },
        { Authorization: 'Bearer' },
      ]) {
        const res = await listChats(headers);
        expect(res.status, JSON.stringify(headers)).to.equal(401);
        expect(res.json).to.deep.include({ message: 'auth-failed' });
        expect(res.headers.get('www-authenticate')).to.equal(
          'session_id realm="messenger", Bearer realm="messenger"',
        );
      }
    });

    it('answers 401 invalid-session-id for a token it never issued', async () => {
      const res = await listChats({
        Authorization: 'session_id AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      });
      expect(res.status).to.equal(401);
      expect(res.json).to.deep.include({ message: 'invalid-session-id' });
      expect(res.headers.get('www-authenticate')).to.contain('Bearer');
    });

    it('lets a valid session through, whatever the case of the scheme', async () => {
      expect((await listChats({ Authorization: `session_id ${user.token}` })).status).to.equal(200);
      expect((await listChats({ Authorization: `SESSION_ID ${user.token}` })).status).to.equal(200);
    });

    it('takes the same token as Bearer <token>, as generated clients and tools send it', async () => {
      expect((await listChats({ Authorization: `Bearer ${user.token}` })).status).to.equal(200);
      expect((await listChats({ Authorization: `bearer ${user.token}` })).status).to.equal(200);
    });
  });

  describe('POST /v1/auth/logout', () => {
    it('answers 401 without a session', async () => {
      const { response, error } = await t.api.POST('/v1/auth/logout');
      expect(response.status).to.equal(401);
      expect(error?.message).to.equal('auth-failed');
    });

    it('kills the token at once and records why in the database', async () => {
      const user = await t.registerUser('logout');
      const { response } = await user.api.POST('/v1/auth/logout');
      expect(response.status).to.equal(200);
      const after = await user.api.GET('/v1/chats', { params: { query: { limit: 10 } } });
      expect(after.response.status).to.equal(401);
      expect(after.error?.message).to.equal('invalid-session-id');
      const row = await sessionRow(user.token);
      expect(row?.end_reason).to.equal('logout');
      expect(row?.ended_at).to.be.instanceOf(Date);
    });

    it('kills it on every API instance sharing the store, and it never comes back when the store loses it', async () => {
      const other = await TestContext.start();
      try {
        const user = await t.registerUser('multi');
        const onOther = other.client(user.token);
        expect(
          (await onOther.GET('/v1/chats', { params: { query: { limit: 1 } } })).response.status,
        ).to.equal(200);
        await user.api.POST('/v1/auth/logout');
        const dead = await onOther.GET('/v1/chats', { params: { query: { limit: 1 } } });
        expect(dead.response.status).to.equal(401);
        // The store forgets everything: the database still says the session ended.
        await t.store.del(sessionStoreKey(hashSessionToken(user.token)));
        const stillDead = await onOther.GET('/v1/chats', { params: { query: { limit: 1 } } });
        expect(stillDead.response.status).to.equal(401);
        expect(stillDead.error?.message).to.equal('invalid-session-id');
      } finally {
        await other.stop();
      }
    });
  });

  describe('when the store loses its data', () => {
    it('a valid session keeps working and is written back to the store', async () => {
      const user = await t.registerUser('refill');
      const key = sessionStoreKey(hashSessionToken(user.token));
      expect(await t.store.get(key)).to.be.a('string');
      await t.store.del(key);
      const { response } = await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
      expect(response.status).to.equal(200);
      expect(JSON.parse((await t.store.get(key)) ?? '{}')).to.include({ uid: user.userId });
    });

    it('a session works from the database alone on an app whose store is empty', async () => {
      const user = await t.registerUser('fresh-store');
      const emptyStore = new MemoryStore(`empty-${uniqueName()}:`);
      const other = await TestContext.start({}, { store: emptyStore });
      try {
        const { response } = await other
          .client(user.token)
          .GET('/v1/chats', { params: { query: { limit: 1 } } });
        expect(response.status).to.equal(200);
      } finally {
        await other.stop();
        await emptyStore.close();
      }
    });
  });

  describe('expiry after SESSION_TTL_SECONDS without use', () => {
    let short: TestContext;
    before(async () => {
      short = await TestContext.start({ SESSION_TTL_SECONDS: '1', SESSION_TOUCH_SECONDS: '0' });
    });
    after(() => short.stop());

    it('answers 401 session-id-expired once the session has gone unused for the TTL', async () => {
      const user = await short.registerUser('expire');
      expect((await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } })).response.status).to.equal(
        200,
      );
      await sleep(1_300);
      const expired = await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
      expect(expired.response.status).to.equal(401);
      expect(expired.error?.message).to.equal('session-id-expired');
      expect((await sessionRow(user.token))?.end_reason).to.equal('expired');
      // and it stays expired
      const again = await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
      expect(again.error?.message).to.equal('session-id-expired');
    });

    it('slides: a session in use does not expire', async () => {
      const user = await short.registerUser('slide');
      for (let i = 0; i < 4; i++) {
        await sleep(500);
        const { response } = await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
        expect(response.status, `request ${i}`).to.equal(200);
      }
      const row = await sessionRow(user.token);
      expect(Date.now() - new Date(row!.last_seen_at).getTime()).to.be.below(1_000);
    });
  });
});
