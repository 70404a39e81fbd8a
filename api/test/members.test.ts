import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

const MISSING_IDS = [randomUUID(), 'random_chat'];

// Leaving, removal and deletion are in members-removal.test.ts.
describe('chats: details, members and roles', function () {
  this.timeout(60_000);
  let t: TestContext;

  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  const getChat = (user: TestUser | undefined, chat_id: string) =>
    (user?.api ?? t.api).GET('/v1/chats/{chat_id}', { params: { path: { chat_id } } });

  const listUsers = (user: TestUser | undefined, chat_id: string, limit: number, from?: string) =>
    (user?.api ?? t.api).GET('/v1/chats/{chat_id}/users', {
      params: { path: { chat_id }, query: { limit, from } },
    });

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
