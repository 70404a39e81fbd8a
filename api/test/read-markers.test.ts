import { expect } from 'chai';
import { EventClient } from './support/event-client.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

describe('read markers and unread counts', function () {
  this.timeout(60_000);
  let t: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    t = await TestContext.start();
    [alice, bob] = [await t.registerUser('alice'), await t.registerUser('bob')];
  });
  after(() => t.stop());

  const chatOf = async (user: TestUser, chatId: string) => {
    const { data } = await user.api.GET('/v1/chats/{chat_id}', { params: { path: { chat_id: chatId } } });
    return data!;
  };

  it('counts others’ messages after the read position, moves it forward only, and tells other sessions', async () => {
    const chatId = await t.createChat(alice);
    await t.addMember(alice, chatId, bob);
    const ids = [];
    for (const text of ['a1', 'a2', 'a3']) ids.push(await t.post(alice, chatId, text));
    await t.post(bob, chatId, 'bob’s own');
    expect(await chatOf(bob, chatId)).to.deep.include({ unread_count: 3, last_read_message_id: null });
    expect(await chatOf(alice, chatId)).to.deep.include({ unread_count: 1 });
    const list = await bob.api.GET('/v1/chats', { params: { query: { limit: 100 } } });
    expect(list.data!.chats.find((c) => c.chat_id === chatId)).to.deep.include({ unread_count: 3 });

    const otherSession = await t.client().POST('/v1/auth/login', {
      body: { user_name: bob.userName, password: bob.password },
    });
    const elsewhere = await EventClient.open(t.baseUrl, { token: otherSession.data!.session_id });
    const here = await EventClient.open(t.baseUrl, { token: bob.token });
    try {
      const read = await bob.api.POST('/v1/chats/{chat_id}/read', {
        params: { path: { chat_id: chatId } },
        body: { message_id: ids[1]! },
      });
      expect(read.response.status).to.equal(200);
      expect(read.data).to.deep.equal({ last_read_message_id: ids[1], unread_count: 1, mention_count: 0 });
      const event = await elsewhere.next('chat.read');
      expect(event.data).to.deep.equal({
        chat_id: chatId,
        user_id: bob.userId,
        last_read_message_id: ids[1],
        unread_count: 1,
        mention_count: 0,
      });

      const back = await bob.api.POST('/v1/chats/{chat_id}/read', {
        params: { path: { chat_id: chatId } },
        body: { message_id: ids[0]! },
      });
      expect(back.data).to.deep.equal({ last_read_message_id: ids[1], unread_count: 1, mention_count: 0 });
      await t.post(alice, chatId, 'a4');
      await here.next('message.created', (d) => (d.message as { text: string }).text === 'a4');
      expect(here.ofType('chat.read')).to.have.length(0);
    } finally {
      await elsewhere.close();
      await here.close();
    }
    expect(await chatOf(bob, chatId)).to.deep.include({ unread_count: 2, last_read_message_id: ids[1] });
  });

  it('drops a deleted unread message from the count', async () => {
    const chatId = await t.createChat(alice);
    await t.addMember(alice, chatId, bob);
    const first = await t.post(alice, chatId, 'x');
    await t.post(alice, chatId, 'y');
    await alice.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: first } },
    });
    expect(await chatOf(bob, chatId)).to.deep.include({ unread_count: 1 });
  });

  it('counts what was written before a member joined as read', async () => {
    const chatId = await t.createChat(alice);
    await t.post(alice, chatId, 'before bob');
    await t.addMember(alice, chatId, bob);
    expect(await chatOf(bob, chatId)).to.deep.include({ unread_count: 0 });
  });

  it('refuses a message of another chat (404) and a stranger (403)', async () => {
    const chatId = await t.createChat(alice);
    const other = await t.createChat(alice);
    const elsewhere = await t.post(alice, other, 'elsewhere');
    const wrong = await alice.api.POST('/v1/chats/{chat_id}/read', {
      params: { path: { chat_id: chatId } },
      body: { message_id: elsewhere },
    });
    expect(wrong.response.status).to.equal(404);
    expect(wrong.error).to.deep.include({ message: 'message-not-found' });
    const stranger = await bob.api.POST('/v1/chats/{chat_id}/read', {
      params: { path: { chat_id: chatId } },
      body: { message_id: elsewhere },
    });
    expect(stranger.response.status).to.equal(403);
  });
});
