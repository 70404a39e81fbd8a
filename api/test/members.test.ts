import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { expectError } from './support/expect-error.ts';
import { search } from './support/search.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

const MISSING_IDS = [randomUUID(), 'random_chat'];

describe('chats: details, members and roles', function () {
  this.timeout(60_000);
  let t: TestContext;
  /** A word no other run has used, so searches find exactly this file's messages. */
  const tag = `zm${randomUUID().slice(0, 8)}`;

  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  const members = (chatId: string) => t.membersOf(chatId);

  const chatRow = (chatId: string) =>
    t.database.db.selectFrom('chats').selectAll().where('id', '=', chatId).executeTakeFirst();

  const messageCount = (chatId: string) => t.messageCount(chatId);

  const getChat = (user: TestUser | undefined, chat_id: string) =>
    (user?.api ?? t.api).GET('/v1/chats/{chat_id}', { params: { path: { chat_id } } });

  const listUsers = (user: TestUser | undefined, chat_id: string, limit: number, from?: string) =>
    (user?.api ?? t.api).GET('/v1/chats/{chat_id}/users', {
      params: { path: { chat_id }, query: { limit, from } },
    });

  const remove = (by: TestUser | undefined, chat_id: string, user_id: string) =>
    (by?.api ?? t.api).DELETE('/v1/chats/{chat_id}/users/{user_id}', {
      params: { path: { chat_id, user_id } },
    });

  const deleteChat = (by: TestUser | undefined, chat_id: string) =>
    (by?.api ?? t.api).DELETE('/v1/chats/{chat_id}', { params: { path: { chat_id } } });

  const postAnswer = (user: TestUser, chat_id: string, message: string) =>
    user.api.POST('/v1/chats/{chat_id}/messages', { params: { path: { chat_id } }, body: { message } });

  describe('GET /v1/chats (listChats): member count and last message', () => {
    it('shows how many members each chat has and its newest message, cut to 100 characters', async () => {
      const [alice, bob] = await t.registerUsers('alice', 'bob');
      const quiet = await t.createChat(alice);
      const busy = await t.chatWith(alice, bob);
      await t.post(alice, busy, 'first');
      const long = `${'x'.repeat(99)}yz and more`;
      const lastId = await t.post(bob, busy, long);

      const { data } = await alice.api.GET('/v1/chats', { params: { query: { limit: 10 } } });
      const [first, second] = data!.chats;
      expect(first).to.deep.include({ chat_id: busy, kind: 'group', member_count: 2 });
      expect(first!.last_message).to.deep.include({
        message_id: lastId,
        user_id: bob.userId,
        user_name: bob.userName,
        text: `${'x'.repeat(99)}y`,
      });
      // The message's own time (the database's clock) and the chat's activity time (the API's) agree closely.
      expect(Date.parse(first!.last_message!.created_at)).to.be.closeTo(
        Date.parse(first!.last_message_at!),
        1_000,
      );
      expect(second).to.deep.include({ chat_id: quiet, member_count: 1, last_message: null });
    });
  });

  describe('GET /v1/chats/{chat_id} (getChat)', () => {
    let owner: TestUser;
    let chatId: string;
    before(async () => {
      owner = await t.registerUser('owner');
      chatId = await t.createChat(owner, 'details');
    });

    it('answers 401 auth-failed without a session', async () => {
      expectError(await getChat(undefined, chatId), 401, 'auth-failed');
    });

    it('answers 404 chat-not-found for an unknown and a malformed id', async () => {
      for (const id of MISSING_IDS) expectError(await getChat(owner, id), 404, 'chat-not-found');
    });

    it('answers 403 forbidden to a non-member', async () => {
      const stranger = await t.registerUser('stranger');
      expectError(await getChat(stranger, chatId), 403, 'forbidden', /not a member/);
    });

    it('answers the chat with its members, their roles and when they joined', async () => {
      const [bob, carol] = await t.registerUsers('bob', 'carol');
      const chat = await t.chatWith(owner, bob, carol);
      const messageId = await t.post(carol, chat, 'hi all');
      const { data, response } = await getChat(bob, chat);
      expect(response.status).to.equal(200);
      expect(data).to.deep.include({ chat_id: chat, kind: 'group', member_count: 3 });
      expect(data!.last_message).to.deep.include({ message_id: messageId, text: 'hi all' });
      expect(data!.members.map((m) => [m.user_id, m.user_name, m.role])).to.deep.equal([
        [owner.userId, owner.userName, 'owner'],
        [bob.userId, bob.userName, 'member'],
        [carol.userId, carol.userName, 'member'],
      ]);
      expect(Date.parse(data!.members[2]!.joined_at)).to.be.at.least(Date.parse(data!.members[0]!.joined_at));
    });
  });

  describe('GET /v1/chats/{chat_id}/users (listChatUsers)', () => {
    let owner: TestUser;
    let chatId: string;
    before(async () => {
      owner = await t.registerUser('owner');
      chatId = await t.createChat(owner);
    });

    it('answers 401 auth-failed without a session', async () => {
      expectError(await listUsers(undefined, chatId, 10), 401, 'auth-failed');
    });

    it('answers 400 bad-parameters for a bad limit or a from it did not issue', async () => {
      for (const limit of [0, 1001]) {
        expectError(await listUsers(owner, chatId, limit), 400, 'bad-parameters', /limit/);
      }
      expectError(await listUsers(owner, chatId, 10, 'garbage'), 400, 'bad-parameters', /from/);
    });

    it('answers 404 chat-not-found for an unknown and a malformed id, 403 to a non-member', async () => {
      for (const id of MISSING_IDS) expectError(await listUsers(owner, id, 10), 404, 'chat-not-found');
      const stranger = await t.registerUser('stranger');
      expectError(await listUsers(stranger, chatId, 10), 403, 'forbidden');
    });

    it('pages the members longest-standing first: no repeats, no gaps, next only while more remain', async () => {
      const others = [];
      for (let i = 0; i < 4; i++) others.push(await t.registerUser('m'));
      const chat = await t.chatWith(owner, ...others);
      const seen: string[] = [];
      const sizes: number[] = [];
      let from: string | undefined;
      do {
        const { data, response } = await listUsers(others[1], chat, 2, from);
        expect(response.status).to.equal(200);
        sizes.push(data!.users.length);
        seen.push(...data!.users.map((u) => u.user_id));
        from = data!.next?.iterator;
      } while (from !== undefined && sizes.length < 10);
      expect(sizes).to.deep.equal([2, 2, 1]);
      expect(seen).to.deep.equal([owner, ...others].map((u) => u.userId));
      const { data } = await listUsers(owner, chat, 1);
      expect(data!.users[0]).to.deep.include({ user_id: owner.userId, role: 'owner' });
    });
  });

  describe('DELETE /v1/chats/{chat_id}/users/{user_id} (removeChatUser)', () => {
    it('answers 401 auth-failed without a session, and removes nobody', async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      expectError(await remove(undefined, chat, owner.userId), 401, 'auth-failed');
      expect(await members(chat)).to.have.length(1);
    });

    it('answers 404 chat-not-found for an unknown and a malformed chat id', async () => {
      const owner = await t.registerUser('owner');
      for (const id of MISSING_IDS) expectError(await remove(owner, id, owner.userId), 404, 'chat-not-found');
    });

    it('answers 403 forbidden to a non-member, and removes nobody', async () => {
      const [owner, bob, stranger] = await t.registerUsers('owner', 'bob', 'stranger');
      const chat = await t.chatWith(owner, bob);
      expectError(await remove(stranger, chat, bob.userId), 403, 'forbidden', /not a member/);
      expectError(await remove(stranger, chat, stranger.userId), 403, 'forbidden');
      expect(await members(chat)).to.have.length(2);
    });

    it('answers 404 user-not-found for someone who is not a member, an unknown or a malformed id', async () => {
      const [owner, stranger] = await t.registerUsers('owner', 'stranger');
      const chat = await t.createChat(owner);
      for (const id of [stranger.userId, randomUUID(), 'nobody']) {
        expectError(await remove(owner, chat, id), 404, 'user-not-found');
      }
    });

    it('answers 403 forbidden when a member tries to remove someone else, and removes nobody', async () => {
      const [owner, bob, carol] = await t.registerUsers('owner', 'bob', 'carol');
      const chat = await t.chatWith(owner, bob, carol);
      expectError(await remove(bob, chat, carol.userId), 403, 'forbidden', /only the owner/);
      expectError(await remove(bob, chat, owner.userId), 403, 'forbidden');
      expect(await members(chat)).to.have.length(3);
    });

    it('lets the owner remove a member (204), who then no longer sees the chat', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      const answer = await remove(owner, chat, bob.userId);
      expect(answer.response.status).to.equal(204);
      expect(await members(chat)).to.deep.equal([{ user_id: owner.userId, role: 'owner' }]);
      const { data } = await bob.api.GET('/v1/chats', { params: { query: { limit: 10 } } });
      expect(data!.chats.map((c) => c.chat_id)).to.not.include(chat);
      expectError(await remove(owner, chat, bob.userId), 404, 'user-not-found');
    });

    it('lets a member leave (remove themself)', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      expect((await remove(bob, chat, bob.userId)).response.status).to.equal(204);
      expect(await members(chat)).to.deep.equal([{ user_id: owner.userId, role: 'owner' }]);
    });

    it('cuts a removed member off: reads (even a cached page), posts and search', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      await t.post(owner, chat, `${tag}cutoff before`);
      // Cache the page and bob's membership first: removal must reach both.
      expect((await t.history(bob, chat)).data!.messages).to.have.length(1);
      expect(await search(bob, `${tag}cutoff`)).to.have.length(1);

      expect((await remove(owner, chat, bob.userId)).response.status).to.equal(204);
      expectError(await t.history(bob, chat), 403, 'forbidden');
      expectError(await postAnswer(bob, chat, 'still here?'), 403, 'forbidden');
      expectError(await getChat(bob, chat), 403, 'forbidden');
      expect(await search(bob, `${tag}cutoff`)).to.deep.equal([]);
      expect(await messageCount(chat)).to.equal(1);
      // The owner still reads everything.
      expect((await t.history(owner, chat)).data!.messages).to.have.length(1);
    });

    it('hands the chat to the longest-standing member when the last owner leaves', async () => {
      const [owner, bob, carol] = await t.registerUsers('owner', 'bob', 'carol');
      const chat = await t.chatWith(owner, bob, carol);
      expect((await remove(owner, chat, owner.userId)).response.status).to.equal(204);
      expect(await members(chat)).to.deep.equal([
        { user_id: bob.userId, role: 'owner' },
        { user_id: carol.userId, role: 'member' },
      ]);
      // The new owner has the owner's powers.
      expect((await remove(bob, chat, carol.userId)).response.status).to.equal(204);
      expect(await members(chat)).to.deep.equal([{ user_id: bob.userId, role: 'owner' }]);
    });

    it('deletes the chat with its messages when the last member leaves', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      await t.post(bob, chat, 'bye');
      expect((await remove(bob, chat, bob.userId)).response.status).to.equal(204);
      expect(await chatRow(chat)).to.not.equal(undefined);
      await t.history(owner, chat);
      expect((await remove(owner, chat, owner.userId)).response.status).to.equal(204);
      expect(await chatRow(chat)).to.equal(undefined);
      expect(await messageCount(chat)).to.equal(0);
      expectError(await t.history(owner, chat), 404, 'chat-not-found');
    });

    it('keeps exactly one owner when the owner and a member leave at the same moment', async () => {
      for (let round = 0; round < 3; round++) {
        const [owner, bob, carol] = await t.registerUsers('owner', 'bob', 'carol');
        const chat = await t.chatWith(owner, bob, carol);
        const answers = await Promise.all([remove(owner, chat, owner.userId), remove(bob, chat, bob.userId)]);
        expect(answers.map((a) => a.response.status)).to.deep.equal([204, 204]);
        expect(await members(chat)).to.deep.equal([{ user_id: carol.userId, role: 'owner' }]);
      }
    });
  });

  describe('DELETE /v1/chats/{chat_id} (deleteChat)', () => {
    it('answers 401 auth-failed without a session, and deletes nothing', async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      expectError(await deleteChat(undefined, chat), 401, 'auth-failed');
      expect(await chatRow(chat)).to.not.equal(undefined);
    });

    it('answers 404 chat-not-found for an unknown and a malformed id', async () => {
      const owner = await t.registerUser('owner');
      for (const id of MISSING_IDS) expectError(await deleteChat(owner, id), 404, 'chat-not-found');
    });

    it('answers 403 forbidden to a non-member and to a member who is not the owner', async () => {
      const [owner, bob, stranger] = await t.registerUsers('owner', 'bob', 'stranger');
      const chat = await t.chatWith(owner, bob);
      expectError(await deleteChat(stranger, chat), 403, 'forbidden', /not a member/);
      expectError(await deleteChat(bob, chat), 403, 'forbidden', /only the owner/);
      expect(await chatRow(chat)).to.not.equal(undefined);
    });

    it('lets the owner delete the chat: it and its messages are gone from the database, history, lists and search', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      await t.post(owner, chat, `${tag}doomed one`);
      await t.post(bob, chat, `${tag}doomed two`);
      // Cached pages and memberships exist before the deletion.
      expect((await t.history(bob, chat)).data!.messages).to.have.length(2);
      expect(await search(bob, `${tag}doomed`)).to.have.length(2);

      expect((await deleteChat(owner, chat)).response.status).to.equal(204);
      expect(await chatRow(chat)).to.equal(undefined);
      expect(await messageCount(chat)).to.equal(0);
      expect(await members(chat)).to.deep.equal([]);
      for (const user of [owner, bob]) {
        expectError(await t.history(user, chat), 404, 'chat-not-found');
        expectError(await postAnswer(user, chat, 'anyone?'), 404, 'chat-not-found');
        const { data } = await user.api.GET('/v1/chats', { params: { query: { limit: 10 } } });
        expect(data!.chats.map((c) => c.chat_id)).to.not.include(chat);
        expect(await search(user, `${tag}doomed`)).to.deep.equal([]);
      }
    });
  });

  describe('with AUTH_DISABLED=true', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it('names the caller with ?user_id= (required) for details, members, removal and deletion', async () => {
      const created = await legacy.api.POST('/v1/chats', { body: { chat_name: 'legacy' } });
      const chat = created.data!.chat_id;
      const owner = await legacy.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chat } },
        body: { user_name: `owner-${randomUUID().slice(0, 8)}` },
      });
      const bob = await legacy.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chat } },
        body: { user_name: `bob-${randomUUID().slice(0, 8)}` },
      });
      const [ownerId, bobId] = [owner.data!.user_id, bob.data!.user_id];

      expectError(
        await legacy.api.GET('/v1/chats/{chat_id}', { params: { path: { chat_id: chat } } }),
        400,
        'bad-parameters',
        /user_id/,
      );
      const details = await legacy.api.GET('/v1/chats/{chat_id}', {
        params: { path: { chat_id: chat }, query: { user_id: bobId } },
      });
      // A chat made without a creator (the original API's way) starts with no owner.
      expect(details.data!.members.map((m) => [m.user_id, m.role])).to.deep.equal([
        [ownerId, 'member'],
        [bobId, 'member'],
      ]);
      const users = await legacy.api.GET('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chat }, query: { user_id: ownerId, limit: 10 } },
      });
      expect(users.data!.users).to.have.length(2);
      expectError(
        await legacy.api.DELETE('/v1/chats/{chat_id}', {
          params: { path: { chat_id: chat }, query: { user_id: bobId } },
        }),
        403,
        'forbidden',
      );
      const left = await legacy.api.DELETE('/v1/chats/{chat_id}/users/{user_id}', {
        params: { path: { chat_id: chat, user_id: bobId }, query: { user_id: bobId } },
      });
      expect(left.response.status).to.equal(204);
      const members = await legacy.database.db
        .selectFrom('chat_members')
        .select(['user_id', 'role'])
        .where('chat_id', '=', chat)
        .execute();
      // The first removal finds no owner left, so the longest-standing member becomes one.
      expect(members).to.deep.equal([{ user_id: ownerId, role: 'owner' }]);
    });
  });
});
