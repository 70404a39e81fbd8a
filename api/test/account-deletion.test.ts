import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { DELETED_DIRECT_CHAT_NAME } from '../src/accounts/account-deletion.service.ts';
import { hashSessionToken } from '../src/auth/session-token.ts';
import { EventClient } from './support/event-client.ts';
import { expectError } from './support/expect-error.ts';
import { search } from './support/search.ts';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';

/** DELETE /v1/users/me (issue 13): sessions, chats, profile and name, and what others still see. */
describe('accounts: deleting one (deleteMe)', function () {
  this.timeout(90_000);
  let t: TestContext;
  /** A second API instance on the same database, store and bus. */
  let other: TestContext;
  const open: EventClient[] = [];
  /** A word no other run has used, so searches find exactly this file's messages. */
  const tag = `zd${randomUUID().slice(0, 8)}`;

  before(async () => {
    t = await TestContext.start();
    other = await TestContext.start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await other?.stop();
    await t?.stop();
  });

  const deleteMe = (user: TestUser | undefined, body: unknown) =>
    (user?.api ?? t.api).DELETE('/v1/users/me', { body: body as { password: string } });
  const login = (userName: string, password: string) =>
    t.api.POST('/v1/auth/login', { body: { user_name: userName, password } });
  const register = (userName: string) =>
    t.api.POST('/v1/auth/register', { body: { user_name: userName, password: 'a good long password' } });
  const userRow = (userId: string) =>
    t.database.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
  const chatsStatus = async (ctx: TestContext, token: string) =>
    (await ctx.client(token).GET('/v1/chats', { params: { query: { limit: 1 } } })).response.status;

  it('answers 401 auth-failed without a session', async () => {
    expectError(await deleteMe(undefined, { password: 'whatever' }), 401, 'auth-failed');
  });

  it('answers 400 bad-parameters without a password, and deletes nothing', async () => {
    const user = await t.registerUser('del');
    for (const body of [{}, { password: '' }, { password: 5 }]) {
      expectError(await deleteMe(user, body), 400, 'bad-parameters');
    }
    expect((await userRow(user.userId)).deleted_at).to.equal(null);
  });

  it('answers 403 forbidden for a wrong password, and changes nothing (the session goes on)', async () => {
    const user = await t.registerUser('del');
    const chat = await t.createChat(user);
    expectError(await deleteMe(user, { password: `${user.password}x` }), 403, 'forbidden', /password/);
    expect((await userRow(user.userId)).user_name).to.equal(user.userName);
    expect(await chatsStatus(t, user.token)).to.equal(200);
    expect(await chatsStatus(other, user.token)).to.equal(200);
    expect(await t.membersOf(chat)).to.have.length(1);
    expect((await login(user.userName, user.password)).response.status).to.equal(200);
  });

  it('ends every session at once on every instance, and their event streams', async () => {
    const user = await t.registerUser('del');
    const second = (await login(user.userName, user.password)).data!.session_id;
    // Cached on both instances' fast path (the shared store) first.
    for (const token of [user.token, second]) {
      expect(await chatsStatus(t, token)).to.equal(200);
      expect(await chatsStatus(other, token)).to.equal(200);
    }
    const stream = await EventClient.open(other.baseUrl, { token: second });
    open.push(stream);
    await stream.until(() => stream.retry !== undefined, 'the stream to open');

    const answer = await deleteMe(user, { password: user.password });
    expect(answer.response.status).to.equal(204);
    for (const token of [user.token, second]) {
      for (const ctx of [t, other]) {
        expectError(
          await ctx.client(token).GET('/v1/chats', { params: { query: { limit: 1 } } }),
          401,
          'invalid-session-id',
        );
      }
    }
    await stream.done;
    const sessions = await t.database.db
      .selectFrom('sessions')
      .select(['ended_at', 'end_reason', 'token_hash'])
      .where('user_id', '=', user.userId)
      .execute();
    expect(sessions).to.have.length(2);
    for (const s of sessions) expect(s.end_reason).to.equal('account-deleted');
    expect(sessions.map((s) => s.token_hash).sort()).to.deep.equal(
      [user.token, second].map(hashSessionToken).sort(),
    );
    expectError(await login(user.userName, user.password), 401, 'auth-failed');
  });

  it('removes the profile and credentials, and finding people never shows the name again', async () => {
    const [user, finder] = await t.registerUsers('del', 'finder');
    await user.api.PATCH('/v1/users/me', { body: { display_name: 'Soon Gone' } });
    await deleteMe(user, { password: user.password });
    const row = await userRow(user.userId);
    expect(row).to.include({ user_name: null, password_hash: null, display_name: null });
    expect(row.deleted_at).to.be.instanceOf(Date);
    expectError(
      await finder.api.GET('/v1/users/{user_id}', { params: { path: { user_id: user.userId } } }),
      404,
      'user-not-found',
    );
    for (const query of [
      { user_name: user.userName },
      { user_name_prefix: user.userName.slice(0, -2) },
      { order_by: 'created_at' as const, order: 'desc' as const, limit: 100 },
    ]) {
      const { data } = await finder.api.GET('/v1/users', { params: { query } });
      expect(data!.users.map((u) => u.user_id)).to.not.include(user.userId);
      expect(data!.users.every((u) => typeof u.user_name === 'string')).to.equal(true);
    }
    // Nor can anyone reach them by name: add them to a chat, or write to them.
    const chat = await t.createChat(finder);
    expectError(
      await finder.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chat } },
        body: { user_name: user.userName },
      }),
      404,
      'user-not-found',
    );
    expectError(
      await finder.api.POST('/v1/direct/{user_name}/messages', {
        params: { path: { user_name: user.userName } },
        body: { message: 'hello?' },
      }),
      404,
      'user-not-found',
    );
  });

  it('leaves every chat as leaving does: owner handed over, last member deletes, direct chat stays', async () => {
    const [user, bob, carol] = await t.registerUsers('del', 'bob', 'carol');
    const owned = await t.chatWith(user, bob, carol);
    const joined = await t.chatWith(bob, user);
    const alone = await t.createChat(user);
    const direct = (
      await user.api.POST('/v1/direct/{user_name}/messages', {
        params: { path: { user_name: carol.userName } },
        body: { message: 'just us' },
      })
    ).data!.chat_id;
    await deleteMe(user, { password: user.password });

    expect(await t.membersOf(owned)).to.deep.equal([
      { user_id: bob.userId, role: 'owner' },
      { user_id: carol.userId, role: 'member' },
    ]);
    expect(await t.membersOf(joined)).to.deep.equal([{ user_id: bob.userId, role: 'owner' }]);
    const gone = await t.database.db.selectFrom('chats').select('id').where('id', '=', alone).execute();
    expect(gone).to.deep.equal([]);
    expect(await t.membersOf(direct)).to.deep.equal([{ user_id: carol.userId, role: 'owner' }]);
    const { data } = await carol.api.GET('/v1/chats/{chat_id}', { params: { path: { chat_id: direct } } });
    expect(data).to.include({ chat_name: DELETED_DIRECT_CHAT_NAME, kind: 'direct', member_count: 1 });
    // Nor does a replay of the direct chat's events show the old name (it held both names).
    const kept = await t.database.db
      .selectFrom('events')
      .select('data')
      .where('chat_id', '=', direct)
      .execute();
    expect(kept.length).to.be.greaterThan(1);
    expect(JSON.stringify(kept)).to.not.contain(user.userName);
  });

  it("keeps their messages in others' history with user_name null: pages (cached too), lists, inbox, search", async () => {
    const [user, bob] = await t.registerUsers('del', 'bob');
    const chat = await t.chatWith(bob, user);
    await t.post(bob, chat, `${tag} question`);
    const mine = await t.post(user, chat, `${tag} answer`);
    // Cache the page with the name first: deletion must reach it.
    const before = (await t.history(bob, chat)).data!.messages;
    expect(before.find((m) => m.message_id === mine)!.user_name).to.equal(user.userName);

    await deleteMe(user, { password: user.password });

    for (const ctx of [t, other]) {
      const page = (await t.history(ctx.client(bob.token), chat)).data!.messages;
      expect(page.map((m) => m.text)).to.deep.equal([`${tag} question`, `${tag} answer`]);
      const theirs = page.find((m) => m.message_id === mine)!;
      expect(theirs).to.include({ user_id: user.userId, user_name: null });
    }
    const list = await bob.api.GET('/v1/chats', { params: { query: { limit: 20 } } });
    const listed = list.data!.chats.find((c) => c.chat_id === chat)!;
    expect(listed.last_message).to.include({ message_id: mine, user_name: null });
    const inbox = await bob.api.GET('/v1/messages/recent', { params: { query: { limit: 20 } } });
    expect(inbox.data!.messages.find((m) => m.message_id === mine)).to.include({ user_name: null });
    const hits = await search(bob, `${tag} answer`);
    expect(hits.find((h) => h.message_id === mine)).to.include({ user_name: null });
    expect(JSON.stringify(hits)).to.not.contain(user.userName);
  });

  it('sends chat.member_removed and user.deleted to the members of each chat, and nothing to others', async () => {
    const [user, bob, stranger] = await t.registerUsers('del', 'bob', 'stranger');
    const chat = await t.chatWith(bob, user);
    const bobs = await EventClient.open(other.baseUrl, { token: bob.token });
    const strangers = await EventClient.open(t.baseUrl, { token: stranger.token });
    open.push(bobs, strangers);
    await bobs.until(() => bobs.retry !== undefined, 'the stream to open');
    await strangers.until(() => strangers.retry !== undefined, 'the stream to open');
    await deleteMe(user, { password: user.password });
    await bobs.next('chat.member_removed', (d) => d.chat_id === chat && d.user_id === user.userId);
    const deleted = await bobs.next('user.deleted', (d) => d.chat_id === chat);
    expect(deleted.data).to.deep.equal({ chat_id: chat, user_id: user.userId });
    const own = await t.createChat(stranger);
    await strangers.next('chat.created', (d) => (d.chat as { chat_id: string }).chat_id === own);
    expect(strangers.ofType('user.deleted')).to.deep.equal([]);
  });

  it('replays kept events without the name', async () => {
    const [user, bob] = await t.registerUsers('del', 'bob');
    const chat = await t.chatWith(bob, user);
    const first = await EventClient.open(t.baseUrl, { token: bob.token });
    open.push(first);
    await t.post(bob, chat, 'before');
    await first.next('message.created', (d) => d.chat_id === chat);
    const cursor = first.lastEventId!;
    const mine = await t.post(user, chat, 'said by the deleted');
    await first.next('message.created', (d) => (d.message as { message_id: string }).message_id === mine);
    await first.close();

    await deleteMe(user, { password: user.password });
    const replay = await EventClient.open(other.baseUrl, { token: bob.token, lastEventId: cursor });
    open.push(replay);
    const created = await replay.next(
      'message.created',
      (d) => (d.message as { message_id: string }).message_id === mine,
    );
    expect((created.data.message as { user_name: unknown }).user_name).to.equal(null);
    await replay.next('user.deleted', (d) => d.chat_id === chat);
  });

  describe('the name', () => {
    it(`stays taken (with its look-alikes) for ACCOUNT_NAME_GRACE_DAYS, then is free`, async () => {
      const user = await t.registerUser('Del');
      await deleteMe(user, { password: user.password });
      expectError(await register(user.userName), 409, 'user-already-exists');
      expectError(await register(user.userName.toUpperCase()), 409, 'user-already-exists');
      // 29 days on: still taken (the default grace is 30 days).
      const backdate = (days: number) =>
        t.database.db
          .updateTable('users')
          .set({ deleted_at: sql<Date>`now() - make_interval(days => ${days})` })
          .where('id', '=', user.userId)
          .execute();
      await backdate(29);
      expectError(await register(user.userName), 409, 'user-already-exists');
      await backdate(31);
      const again = await register(user.userName.toUpperCase());
      expect(again.response.status).to.equal(201);
      expect(again.data!.user_id).to.not.equal(user.userId);
      // The newcomer is someone else: the old messages stay nameless.
      expect((await userRow(user.userId)).name_key).to.equal(null);
    });

    it('is free at once with ACCOUNT_NAME_GRACE_DAYS=0', async () => {
      const now = await TestContext.start({ ACCOUNT_NAME_GRACE_DAYS: '0' });
      try {
        const user = await now.registerUser('del');
        expect(
          (await user.api.DELETE('/v1/users/me', { body: { password: user.password } })).response.status,
        ).to.equal(204);
        const again = await now.api.POST('/v1/auth/register', {
          body: { user_name: user.userName, password: 'a good long password' },
        });
        expect(again.response.status).to.equal(201);
      } finally {
        await now.stop();
      }
    });
  });

  describe('with AUTH_DISABLED=true', () => {
    it('answers 403 forbidden (there are no passwords to re-authenticate with), and deletes nothing', async () => {
      const legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
      try {
        const name = uniqueName('legacy');
        const registered = await legacy.api.POST('/v1/auth/register', {
          body: { user_name: name, password: 'a good long password' },
        });
        const id = registered.data!.user_id;
        const answer = await legacy.api.DELETE('/v1/users/me', {
          body: { password: 'a good long password' },
        });
        expectError(answer, 403, 'forbidden', /AUTH_DISABLED/);
        expect((await userRow(id)).deleted_at).to.equal(null);
      } finally {
        await legacy.stop();
      }
    });
  });
});
