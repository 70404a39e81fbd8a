import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { EventClient } from './support/event-client.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

/** PATCH /v1/chats/{chat_id}: name, topic and settings, and the `chat.updated` event (issue 13). */
describe('chats: rename, topic and settings (updateChat)', function () {
  this.timeout(60_000);
  let t: TestContext;
  const open: EventClient[] = [];

  before(async () => {
    t = await TestContext.start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  after(() => t.stop());

  type Patch = { chat_name?: string; topic?: string | null; members_can_pin?: boolean };
  const patch = (by: TestUser | undefined, chat_id: string, body: Patch) =>
    (by?.api ?? t.api).PATCH('/v1/chats/{chat_id}', { params: { path: { chat_id } }, body });
  const chatRow = (chatId: string) =>
    t.database.db
      .selectFrom('chats')
      .select(['chat_name', 'topic', 'members_can_pin'])
      .where('id', '=', chatId)
      .executeTakeFirstOrThrow();

  it('answers 401 auth-failed without a session, and changes nothing', async () => {
    const owner = await t.registerUser('owner');
    const chat = await t.createChat(owner, 'before');
    expectError(await patch(undefined, chat, { chat_name: 'after' }), 401, 'auth-failed');
    expect((await chatRow(chat)).chat_name).to.equal('before');
  });

  it('answers 400 bad-parameters for an empty body, unknown fields, and out-of-range values', async () => {
    const owner = await t.registerUser('owner');
    const chat = await t.createChat(owner, 'before');
    const bad: unknown[] = [
      {},
      { chat_name: '' },
      { chat_name: 'x'.repeat(256) },
      { topic: 't'.repeat(501) },
      { topic: 5 },
      { members_can_pin: 'yes' },
      { colour: 'red' },
    ];
    for (const body of bad) {
      expectError(await patch(owner, chat, body as Patch), 400, 'bad-parameters');
    }
    expect(await chatRow(chat)).to.deep.equal({ chat_name: 'before', topic: null, members_can_pin: false });
  });

  it('answers 404 chat-not-found for an unknown or malformed id', async () => {
    const owner = await t.registerUser('owner');
    for (const id of [randomUUID(), 'nope']) {
      expectError(await patch(owner, id, { topic: 'x' }), 404, 'chat-not-found');
    }
  });

  it('answers 403 forbidden to a stranger and to a member who is not an owner', async () => {
    const [owner, bob, stranger] = await t.registerUsers('owner', 'bob', 'stranger');
    const chat = await t.chatWith(owner, bob);
    expectError(await patch(stranger, chat, { topic: 'x' }), 403, 'forbidden', /not a member/);
    expectError(await patch(bob, chat, { topic: 'x' }), 403, 'forbidden', /only an owner/);
    expect((await chatRow(chat)).topic).to.equal(null);
  });

  it('refuses to rename a direct chat (403) but sets its topic', async () => {
    const [alice, bob] = await t.registerUsers('alice', 'bob');
    const sent = await alice.api.POST('/v1/direct/{user_name}/messages', {
      params: { path: { user_name: bob.userName } },
      body: { message: 'hi' },
    });
    const chat = sent.data!.chat_id;
    const name = (await chatRow(chat)).chat_name;
    expectError(await patch(alice, chat, { chat_name: 'ours' }), 403, 'forbidden', /direct/);
    expectError(await patch(bob, chat, { chat_name: 'ours', topic: 'x' }), 403, 'forbidden');
    expect(await chatRow(chat)).to.include({ chat_name: name, topic: null });
    const answer = await patch(bob, chat, { topic: 'just us' });
    expect(answer.response.status).to.equal(200);
    expect(answer.data).to.include({ chat_name: name, topic: 'just us', kind: 'direct' });
  });

  it('lets an owner rename the chat and set its topic and settings, one field at a time', async () => {
    const [owner, bob] = await t.registerUsers('owner', 'bob');
    const chat = await t.chatWith(owner, bob);
    const renamed = await patch(owner, chat, { chat_name: 'renamed' });
    expect(renamed.response.status).to.equal(200);
    expect(renamed.data).to.include({
      chat_id: chat,
      chat_name: 'renamed',
      topic: null,
      members_can_pin: false,
    });
    expect(renamed.data!.members).to.have.length(2);

    const topic = 'ü'.repeat(500);
    expect((await patch(owner, chat, { topic, members_can_pin: true })).data).to.include({
      chat_name: 'renamed',
      topic,
      members_can_pin: true,
    });
    expect(await chatRow(chat)).to.deep.equal({ chat_name: 'renamed', topic, members_can_pin: true });
    // null clears the topic; what is left out stays.
    expect((await patch(owner, chat, { topic: null })).data).to.include({
      chat_name: 'renamed',
      topic: null,
      members_can_pin: true,
    });
  });

  it('shows the topic and settings wherever the chat is shown: the list and the details', async () => {
    const [owner, bob] = await t.registerUsers('owner', 'bob');
    const chat = await t.chatWith(owner, bob);
    await patch(owner, chat, { topic: 'plans', chat_name: 'weekend' });
    const list = await bob.api.GET('/v1/chats', { params: { query: { limit: 10 } } });
    expect(list.data!.chats.find((c) => c.chat_id === chat)).to.include({
      chat_name: 'weekend',
      topic: 'plans',
      members_can_pin: false,
    });
    const details = await bob.api.GET('/v1/chats/{chat_id}', { params: { path: { chat_id: chat } } });
    expect(details.data).to.include({ chat_name: 'weekend', topic: 'plans' });
  });

  it('sends chat.updated to the members, and nothing to anyone else', async () => {
    const [owner, bob, stranger] = await t.registerUsers('owner', 'bob', 'stranger');
    const chat = await t.chatWith(owner, bob);
    const bobs = await EventClient.open(t.baseUrl, { token: bob.token });
    const strangers = await EventClient.open(t.baseUrl, { token: stranger.token });
    open.push(bobs, strangers);
    await patch(owner, chat, { topic: 'news', members_can_pin: true });
    const event = await bobs.next('chat.updated', (d) => d.chat_id === chat);
    expect(event.data).to.deep.equal({
      chat_id: chat,
      chat_name: (await chatRow(chat)).chat_name,
      topic: 'news',
      members_can_pin: true,
      updated_by: owner.userId,
    });
    // A marker the stranger does get (their own chat), after which chat.updated must not be there.
    const own = await t.createChat(stranger);
    await strangers.next('chat.created', (d) => (d.chat as { chat_id: string }).chat_id === own);
    expect(strangers.ofType('chat.updated')).to.deep.equal([]);
  });

  it('sends no event for a refused change', async () => {
    const [owner, bob] = await t.registerUsers('owner', 'bob');
    const chat = await t.chatWith(owner, bob);
    const owners = await EventClient.open(t.baseUrl, { token: owner.token });
    open.push(owners);
    expectError(await patch(bob, chat, { topic: 'mine' }), 403, 'forbidden');
    await t.post(bob, chat, 'marker');
    await owners.next('message.created', (d) => d.chat_id === chat);
    expect(owners.ofType('chat.updated')).to.deep.equal([]);
  });

  describe('with AUTH_DISABLED=true', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it('acts as ?user_id= (the owner), and refuses a member who is not one', async () => {
      const users = await Promise.all(
        ['owner', 'member'].map(async (n) => {
          const name = `${n}-${randomUUID().slice(0, 8)}`;
          const r = await legacy.api.POST('/v1/auth/register', {
            body: { user_name: name, password: 'pw-12345678' },
          });
          return { id: r.data!.user_id, name };
        }),
      );
      const created = await legacy.api.POST('/v1/chats', {
        params: { query: { user_id: users[0]!.id } },
        body: { chat_name: 'legacy' },
      });
      const chat = created.data!.chat_id;
      await legacy.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chat }, query: { user_id: users[0]!.id } },
        body: { user_name: users[1]!.name },
      });
      const ok = await legacy.api.PATCH('/v1/chats/{chat_id}', {
        params: { path: { chat_id: chat }, query: { user_id: users[0]!.id } },
        body: { topic: 'old clients too' },
      });
      expect(ok.response.status).to.equal(200);
      expect(ok.data).to.include({ topic: 'old clients too' });
      const refused = await legacy.api.PATCH('/v1/chats/{chat_id}', {
        params: { path: { chat_id: chat }, query: { user_id: users[1]!.id } },
        body: { topic: 'no' },
      });
      expectError(refused, 403, 'forbidden');
    });
  });
});
