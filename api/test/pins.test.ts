import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MAX_PINS } from '../src/pins/pins.service.ts';
import { EventClient } from './support/event-client.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

/** Pinned messages: PUT/DELETE /v1/chats/{chat_id}/pins/{message_id}, GET …/pins (issue 13). */
describe('chats: pinned messages', function () {
  this.timeout(90_000);
  let t: TestContext;
  const open: EventClient[] = [];

  before(async () => {
    t = await TestContext.start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  after(() => t.stop());

  const pin = (by: TestUser | undefined, chat_id: string, message_id: string) =>
    (by?.api ?? t.api).PUT('/v1/chats/{chat_id}/pins/{message_id}', {
      params: { path: { chat_id, message_id } },
    });
  const unpin = (by: TestUser | undefined, chat_id: string, message_id: string) =>
    (by?.api ?? t.api).DELETE('/v1/chats/{chat_id}/pins/{message_id}', {
      params: { path: { chat_id, message_id } },
    });
  const list = (by: TestUser | undefined, chat_id: string) =>
    (by?.api ?? t.api).GET('/v1/chats/{chat_id}/pins', { params: { path: { chat_id } } });
  const pinRows = (chatId: string) =>
    t.database.db
      .selectFrom('chat_pins')
      .select(['message_id', 'pinned_by'])
      .where('chat_id', '=', chatId)
      .orderBy('pinned_at')
      .execute();

  describe('PUT …/pins/{message_id} (pinMessage)', () => {
    it('answers 401 auth-failed without a session, and pins nothing', async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      const message = await t.post(owner, chat, 'pin me');
      expectError(await pin(undefined, chat, message), 401, 'auth-failed');
      expect(await pinRows(chat)).to.deep.equal([]);
    });

    it('answers 404 for an unknown chat, an unknown message, and a message of another chat', async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      const other = await t.createChat(owner);
      const elsewhere = await t.post(owner, other, 'not here');
      expectError(await pin(owner, randomUUID(), elsewhere), 404, 'chat-not-found');
      expectError(await pin(owner, 'bad', elsewhere), 404, 'chat-not-found');
      for (const id of [randomUUID(), 'bad', elsewhere]) {
        expectError(await pin(owner, chat, id), 404, 'message-not-found');
      }
      expect(await pinRows(chat)).to.deep.equal([]);
    });

    it('answers 403 to a stranger, and to a member while the chat allows owners only', async () => {
      const [owner, bob, stranger] = await t.registerUsers('owner', 'bob', 'stranger');
      const chat = await t.chatWith(owner, bob);
      const message = await t.post(bob, chat, 'mine');
      expectError(await pin(stranger, chat, message), 403, 'forbidden', /not a member/);
      expectError(await pin(bob, chat, message), 403, 'forbidden', /only an owner/);
      expect(await pinRows(chat)).to.deep.equal([]);
    });

    it('lets an owner pin (200, the pin with its message), idempotently', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      const message = await t.post(bob, chat, 'the plan');
      const first = await pin(owner, chat, message);
      expect(first.response.status).to.equal(200);
      expect(first.data).to.include({ chat_id: chat, pinned_by: owner.userId });
      expect(first.data!.message).to.include({
        message_id: message,
        text: 'the plan',
        user_name: bob.userName,
      });
      const again = await pin(owner, chat, message);
      expect(again.data).to.deep.equal(first.data);
      expect(await pinRows(chat)).to.deep.equal([{ message_id: message, pinned_by: owner.userId }]);
    });

    it('lets every member pin once the owner sets members_can_pin, and not after it is unset', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      const [m1, m2] = [await t.post(owner, chat, 'one'), await t.post(owner, chat, 'two')];
      const set = (value: boolean) =>
        owner.api.PATCH('/v1/chats/{chat_id}', {
          params: { path: { chat_id: chat } },
          body: { members_can_pin: value },
        });
      await set(true);
      expect((await pin(bob, chat, m1)).response.status).to.equal(200);
      expect((await unpin(bob, chat, m1)).response.status).to.equal(204);
      expect((await pin(bob, chat, m2)).response.status).to.equal(200);
      await set(false);
      expectError(await pin(bob, chat, m1), 403, 'forbidden');
      expectError(await unpin(bob, chat, m2), 403, 'forbidden');
      expect(await pinRows(chat)).to.deep.equal([{ message_id: m2, pinned_by: bob.userId }]);
    });

    it(`holds at most ${MAX_PINS} pins per chat: one more is 409 too-many-pins, a repeat is still fine`, async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      const batch = await owner.api.POST('/v1/chats/{chat_id}/messages/batch', {
        params: { path: { chat_id: chat } },
        body: { messages: Array.from({ length: MAX_PINS + 1 }, (_, i) => ({ message: `m${i}` })) },
      });
      const ids = batch.data!.message_ids;
      // Concurrently: the cap holds under the chat row's lock.
      const answers = await Promise.all(ids.map((id) => pin(owner, chat, id)));
      const statuses = answers.map((a) => a.response.status);
      expect(statuses.filter((s) => s === 200)).to.have.length(MAX_PINS);
      const refused = answers.find((a) => a.response.status === 409)!;
      expectError(refused, 409, 'too-many-pins');
      expect(await pinRows(chat)).to.have.length(MAX_PINS);
      const pinned = (await pinRows(chat))[0]!.message_id;
      expect((await pin(owner, chat, pinned)).response.status).to.equal(200);
    });
  });

  describe('DELETE …/pins/{message_id} (unpinMessage)', () => {
    it('answers 401 without a session, 404 for an unknown chat or message, 403 to a stranger', async () => {
      const [owner, stranger] = await t.registerUsers('owner', 'stranger');
      const chat = await t.createChat(owner);
      const message = await t.post(owner, chat, 'pinned');
      await pin(owner, chat, message);
      expectError(await unpin(undefined, chat, message), 401, 'auth-failed');
      expectError(await unpin(owner, randomUUID(), message), 404, 'chat-not-found');
      expectError(await unpin(owner, chat, randomUUID()), 404, 'message-not-found');
      expectError(await unpin(stranger, chat, message), 403, 'forbidden');
      expect(await pinRows(chat)).to.have.length(1);
    });

    it('unpins (204), idempotently', async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      const message = await t.post(owner, chat, 'pinned');
      await pin(owner, chat, message);
      expect((await unpin(owner, chat, message)).response.status).to.equal(204);
      expect((await unpin(owner, chat, message)).response.status).to.equal(204);
      expect(await pinRows(chat)).to.deep.equal([]);
    });
  });

  describe('GET …/pins (listPins)', () => {
    it('answers 401 without a session, 404 for an unknown chat, 403 to a stranger', async () => {
      const [owner, stranger] = await t.registerUsers('owner', 'stranger');
      const chat = await t.createChat(owner);
      expectError(await list(undefined, chat), 401, 'auth-failed');
      expectError(await list(owner, randomUUID()), 404, 'chat-not-found');
      expectError(await list(stranger, chat), 403, 'forbidden');
    });

    it('lists the pins newest first, each with its message as history shows it', async () => {
      const [owner, bob] = await t.registerUsers('owner', 'bob');
      const chat = await t.chatWith(owner, bob);
      const ids = [
        await t.post(owner, chat, 'a'),
        await t.post(bob, chat, 'b'),
        await t.post(owner, chat, 'c'),
      ];
      await pin(owner, chat, ids[1]!);
      await pin(owner, chat, ids[0]!);
      await pin(owner, chat, ids[2]!);
      await unpin(owner, chat, ids[0]!);
      const { data } = await list(bob, chat);
      expect(data!.pins.map((p) => p.message.message_id)).to.deep.equal([ids[2], ids[1]]);
      const history = (await t.history(bob, chat)).data!.messages;
      expect(data!.pins[1]!.message).to.deep.equal(history.find((m) => m.message_id === ids[1]));
    });

    it("drops a deleted message's pin, and a deleted chat's pins", async () => {
      const owner = await t.registerUser('owner');
      const chat = await t.createChat(owner);
      const [keep, gone] = [await t.post(owner, chat, 'keep'), await t.post(owner, chat, 'gone')];
      await pin(owner, chat, keep);
      await pin(owner, chat, gone);
      await owner.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
        params: { path: { chat_id: chat, message_id: gone } },
      });
      expect((await list(owner, chat)).data!.pins.map((p) => p.message.message_id)).to.deep.equal([keep]);
      await owner.api.DELETE('/v1/chats/{chat_id}', { params: { path: { chat_id: chat } } });
      expect(await pinRows(chat)).to.deep.equal([]);
    });
  });

  describe('events', () => {
    it('sends chat.pinned and chat.unpinned to the members only, once per change', async () => {
      const [owner, bob, stranger] = await t.registerUsers('owner', 'bob', 'stranger');
      const chat = await t.chatWith(owner, bob);
      const message = await t.post(owner, chat, 'important');
      const bobs = await EventClient.open(t.baseUrl, { token: bob.token });
      const strangers = await EventClient.open(t.baseUrl, { token: stranger.token });
      open.push(bobs, strangers);
      await pin(owner, chat, message);
      await pin(owner, chat, message);
      const pinned = await bobs.next('chat.pinned', (d) => d.chat_id === chat);
      expect((pinned.data.pin as { message: { message_id: string } }).message.message_id).to.equal(message);
      await unpin(owner, chat, message);
      await unpin(owner, chat, message);
      const unpinned = await bobs.next('chat.unpinned', (d) => d.chat_id === chat);
      expect(unpinned.data).to.deep.equal({ chat_id: chat, message_id: message });
      // A marker after both: exactly one of each came, and nothing to the stranger.
      await t.post(owner, chat, 'marker');
      await bobs.next('message.created', (d) => (d.message as { text: string }).text === 'marker');
      expect(bobs.ofType('chat.pinned')).to.have.length(1);
      expect(bobs.ofType('chat.unpinned')).to.have.length(1);
      expect(strangers.ofType('chat.pinned').concat(strangers.ofType('chat.unpinned'))).to.deep.equal([]);
    });
  });
});
