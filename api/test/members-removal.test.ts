import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { expectError } from './support/expect-error.ts';
import { search } from './support/search.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

const MISSING_IDS = [randomUUID(), 'random_chat'];

// Details, listing and roles are in members.test.ts.
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

  const remove = (by: TestUser | undefined, chat_id: string, user_id: string) =>
    (by?.api ?? t.api).DELETE('/v1/chats/{chat_id}/users/{user_id}', {
      params: { path: { chat_id, user_id } },
    });

  const deleteChat = (by: TestUser | undefined, chat_id: string) =>
    (by?.api ?? t.api).DELETE('/v1/chats/{chat_id}', { params: { path: { chat_id } } });

  const postAnswer = (user: TestUser, chat_id: string, message: string) =>
    user.api.POST('/v1/chats/{chat_id}/messages', { params: { path: { chat_id } }, body: { message } });

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
});
