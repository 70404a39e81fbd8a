import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';
import { expectError } from './support/expect-error.ts';
import { UserProfilesRepository } from '../src/users/users.repository.ts';

describe('users', () => {
  let t: TestContext;
  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  const register = async (userName: string): Promise<string> => {
    const { data, response } = await t.api.POST('/v1/auth/register', {
      body: { user_name: userName, password: 'long enough password' },
    });
    expect(response.status, userName).to.equal(201);
    return data!.user_id;
  };

  describe('GET /v1/users/me', () => {
    it('answers 401 without a session', async () => {
      expectError(await t.api.GET('/v1/users/me'), 401, 'auth-failed');
    });

    it('answers 403 when user_id names someone else', async () => {
      const [alice, bob] = await t.registerUsers('me', 'me');
      expectError(
        await alice.api.GET('/v1/users/me', { params: { query: { user_id: bob.userId } } }),
        403,
        'forbidden',
      );
    });

    it("answers the caller's public profile, never the password hash", async () => {
      const alice = await t.registerUser('me');
      const { response, data } = await alice.api.GET('/v1/users/me');
      expect(response.status).to.equal(200);
      expect(Object.keys(data!).sort()).to.deep.equal(['created_at', 'display_name', 'user_id', 'user_name']);
      expect(data).to.include({ user_id: alice.userId, user_name: alice.userName, display_name: null });
      expect(Date.now() - Date.parse(data!.created_at)).to.be.within(0, 60_000);
      expect(JSON.stringify(data)).to.not.contain('argon2');
    });
  });

  describe('GET /v1/users/{user_id}', () => {
    let alice: TestUser;
    before(async () => {
      alice = await t.registerUser('get');
    });

    it('answers 401 without a session', async () => {
      expectError(
        await t.api.GET('/v1/users/{user_id}', { params: { path: { user_id: alice.userId } } }),
        401,
        'auth-failed',
      );
    });

    it('answers 404 user-not-found for an unknown or a malformed id', async () => {
      for (const id of ['9d2e7c41-5b8a-4f3e-a1c6-0e4b7d9f2a18', 'not-a-uuid', "1' or '1'='1"]) {
        expectError(
          await alice.api.GET('/v1/users/{user_id}', { params: { path: { user_id: id } } }),
          404,
          'user-not-found',
        );
      }
    });

    it("answers another user's public profile", async () => {
      const bob = await t.registerUser('get');
      const { response, data } = await alice.api.GET('/v1/users/{user_id}', {
        params: { path: { user_id: bob.userId } },
      });
      expect(response.status).to.equal(200);
      expect(data).to.include({ user_id: bob.userId, user_name: bob.userName, display_name: null });
      expect(data).to.not.have.property('password_hash');
    });
  });

  describe('PATCH /v1/users/me', () => {
    it('answers 401 without a session', async () => {
      expectError(await t.api.PATCH('/v1/users/me', { body: { display_name: 'x' } }), 401, 'auth-failed');
    });

    it('answers 400 for a missing, empty, blank, too long or mistyped display_name', async () => {
      const alice = await t.registerUser('patch');
      const cases: Array<[unknown, RegExp]> = [
        [{}, /display_name/],
        [{ display_name: '' }, /display_name/],
        [{ display_name: '   ' }, /display_name/],
        [{ display_name: 'x'.repeat(101) }, /display_name/],
        [{ display_name: 42 }, /display_name/],
        [{ display_name: 'a\u0000b' }, /display_name/],
      ];
      for (const [body, detail] of cases) {
        expectError(
          await alice.api.PATCH('/v1/users/me', { body: body as never }),
          400,
          'bad-parameters',
          detail,
        );
      }
      expect((await alice.api.GET('/v1/users/me')).data?.display_name).to.equal(null);
    });

    it('sets the display name, and null clears it, in the database too', async () => {
      const alice = await t.registerUser('patch');
      const set = await alice.api.PATCH('/v1/users/me', { body: { display_name: 'Alice Liddell' } });
      expect(set.response.status).to.equal(200);
      expect(set.data).to.include({ user_id: alice.userId, display_name: 'Alice Liddell' });
      const row = () =>
        t.database.db
          .selectFrom('users')
          .select('display_name')
          .where('id', '=', alice.userId)
          .executeTakeFirstOrThrow();
      expect((await row()).display_name).to.equal('Alice Liddell');
      expect((await alice.api.GET('/v1/users/me')).data?.display_name).to.equal('Alice Liddell');

      const max = 'é'.repeat(100);
      expect(
        (await alice.api.PATCH('/v1/users/me', { body: { display_name: max } })).data?.display_name,
      ).to.equal(max);
      const cleared = await alice.api.PATCH('/v1/users/me', { body: { display_name: null } });
      expect(cleared.response.status).to.equal(200);
      expect(cleared.data?.display_name).to.equal(null);
      expect((await row()).display_name).to.equal(null);
    });
  });

  describe('GET /v1/users', () => {
    let alice: TestUser;
    /** A prefix no other test's users share. */
    const base = `find${randomBytes(4).toString('hex')}`;
    const names = [
      `${base}-carol`,
      `${base}-alice`,
      `${base}-bob`,
      `${base}_x`,
      `${base}xy`,
      `${base}%p`,
      `${base}\\b`,
    ];
    const ids = new Map<string, string>();

    before(async () => {
      alice = await t.registerUser('finder');
      // Created one after another, so created_at follows this order.
      for (const name of names) ids.set(name, await register(name));
    });

    const find = (query: Record<string, string | number>) =>
      alice.api.GET('/v1/users', { params: { query: query as never } });

    it('answers 401 without a session', async () => {
      expectError(await t.api.GET('/v1/users', { params: { query: {} } }), 401, 'auth-failed');
    });

    it('answers 400 for an unknown order_by or order, and limit or offset out of range', async () => {
      for (const [query, detail] of [
        [{ order_by: 'password_hash' }, /order_by/],
        [{ order: 'sideways' }, /order/],
        [{ limit: 0 }, /limit/],
        [{ limit: 101 }, /limit/],
        [{ offset: -1 }, /offset/],
        [{ offset: 10_001 }, /offset/],
        [{ user_name_prefix: '' }, /user_name_prefix/],
      ] as Array<[Record<string, string | number>, RegExp]>) {
        expectError(await find(query), 400, 'bad-parameters', detail);
      }
    });

    it('finds users by prefix, in name order by default, with % _ and \\ matching only themselves', async () => {
      const all = await find({ user_name_prefix: base, limit: 100 });
      expect(all.response.status).to.equal(200);
      expect(all.data!.users.map((u) => u.user_name)).to.have.members(names);
      const dashed = await find({ user_name_prefix: `${base}-` });
      expect(dashed.data!.users.map((u) => u.user_name)).to.deep.equal([
        `${base}-alice`,
        `${base}-bob`,
        `${base}-carol`,
      ]);
      expect(dashed.data!.users[0]).to.deep.include({
        user_id: ids.get(`${base}-alice`),
        display_name: null,
      });
      expect(dashed.data!.users[0]).to.not.have.property('password_hash');
      for (const wild of ['_', '%', '\\']) {
        const found = await find({ user_name_prefix: `${base}${wild}` });
        expect(
          found.data!.users.map((u) => u.user_name),
          wild,
        ).to.deep.equal(names.filter((n) => n.startsWith(`${base}${wild}`)));
      }
    });

    it('finds a user by exact name, and nobody for a name no one has', async () => {
      const exact = await find({ user_name: `${base}_x` });
      expect(exact.data!.users.map((u) => u.user_id)).to.deep.equal([ids.get(`${base}_x`)]);
      expect((await find({ user_name: uniqueName('nobody') })).data!.users).to.deep.equal([]);
    });

    it('orders by created_at either way, and pages with limit and offset', async () => {
      const newestFirst = await find({ user_name_prefix: base, order_by: 'created_at', order: 'desc' });
      expect(newestFirst.data!.users.map((u) => u.user_name)).to.deep.equal([...names].reverse());
      const page = await find({ user_name_prefix: base, order_by: 'created_at', limit: 2, offset: 2 });
      expect(page.data!.users.map((u) => u.user_name)).to.deep.equal(names.slice(2, 4));
      const descByName = await find({ user_name_prefix: `${base}-`, order: 'desc', limit: 1 });
      expect(descByName.data!.users.map((u) => u.user_name)).to.deep.equal([`${base}-carol`]);
      expect((await find({ user_name_prefix: base, offset: 10_000 })).data!.users).to.deep.equal([]);
    });

    it('runs the prefix search as a range scan of the text_pattern_ops index', async () => {
      const plan = await t.database.db.transaction().execute(async (trx) => {
        // The test table is small enough for a sequential scan to win: ask whether the index CAN serve it.
        await sql`set local enable_seqscan = off`.execute(trx);
        return new UserProfilesRepository(trx).planOfSearch({
          userNamePrefix: `${base}_`,
          orderBy: 'user_name',
          order: 'asc',
          limit: 20,
          offset: 0,
        });
      });
      expect(plan).to.contain('users_user_name_pattern_idx');
      expect(plan).to.match(/Index Cond: .*~>=~/);
    });
  });

  describe('with AUTH_DISABLED=true', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it('GET /v1/users/me needs user_id (400) naming a user (404), and answers their profile', async () => {
      const alice = await t.registerUser('legacy');
      expectError(await legacy.api.GET('/v1/users/me'), 400, 'bad-parameters', /user_id/);
      expectError(
        await legacy.api.GET('/v1/users/me', { params: { query: { user_id: 'nobody' } } }),
        404,
        'user-not-found',
      );
      const { data } = await legacy.api.GET('/v1/users/me', { params: { query: { user_id: alice.userId } } });
      expect(data).to.include({ user_id: alice.userId, user_name: alice.userName });
      const patched = await legacy.api.PATCH('/v1/users/me', {
        params: { query: { user_id: alice.userId } },
        body: { display_name: 'Al' },
      });
      expect(patched.data?.display_name).to.equal('Al');
    });
  });
});
