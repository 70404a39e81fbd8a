import { expect } from 'chai';
import { EventClient } from './support/event-client.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

/**
 * Two API instances on the same database, store and bus (Redis pub/sub against real services, the
 * in-process bus on the embedded default): what happens on one reaches streams on the other.
 */
describe('the event stream across two API instances', function () {
  this.timeout(60_000);
  let a: TestContext;
  let b: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  const open: EventClient[] = [];
  const subscribe = async (on: TestContext, user: TestUser, lastEventId?: string) => {
    const client = await EventClient.open(on.baseUrl, {
      token: user.token,
      ...(lastEventId && { lastEventId }),
    });
    open.push(client);
    return client;
  };
  const text = (e: { data: Record<string, unknown> }) => (e.data.message as { text: string }).text;

  before(async () => {
    [a, b] = [await TestContext.start(), await TestContext.start()];
    [alice, bob, carol] = await a.registerUsers('alice', 'bob', 'carol');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('delivers what happens on one instance to a stream on the other', async () => {
    const bobs = await subscribe(a, bob);
    const chatId = await b.createChat(alice);
    await b.addMember(alice, chatId, bob);
    await bobs.next('chat.member_added', (d) => d.chat_id === chatId);
    const messageId = await b.post(alice, chatId, 'across');
    expect(text(await bobs.next('message.created', (d) => d.chat_id === chatId))).to.equal('across');
    await b.client(alice.token).PATCH('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: messageId } },
      body: { message: 'across, edited' },
    });
    expect(text(await bobs.next('message.edited', (d) => d.chat_id === chatId))).to.equal('across, edited');
    await b.client(alice.token).DELETE('/v1/chats/{chat_id}/users/{user_id}', {
      params: { path: { chat_id: chatId, user_id: bob.userId } },
    });
    await bobs.next('chat.member_removed', (d) => d.chat_id === chatId);
  });

  it('resumes on the other instance with exactly the missed events, in order', async () => {
    const chatId = await a.chatWith(alice, bob);
    const first = await subscribe(a, bob);
    await a.post(alice, chatId, 'seen');
    await first.next('message.created', (d) => d.chat_id === chatId);
    const cursor = first.lastEventId!;
    await first.close();

    for (let i = 1; i <= 5; i++) await (i % 2 ? a : b).post(alice, chatId, `missed ${i}`);
    const second = await subscribe(b, bob, cursor);

    await second.until(() => second.ofType('message.created').length >= 5, 'five missed messages');
    await a.post(alice, chatId, 'live');
    await second.until(() => second.ofType('message.created').length >= 6, 'the live message');
    expect(second.ofType('message.created').map(text)).to.deep.equal([
      'missed 1',
      'missed 2',
      'missed 3',
      'missed 4',
      'missed 5',
      'live',
    ]);
    const ids = second.events.map((e) => Number(e.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).to.equal(true);
  });

  it('gives an outsider nothing, on either instance', async () => {
    const chatId = await a.chatWith(alice, bob);
    const carolOnA = await subscribe(a, carol);
    const carolOnB = await subscribe(b, carol);
    await b.post(alice, chatId, 'not for carol');
    await a.createChat(carol);
    await carolOnA.next('chat.created');
    await carolOnB.next('chat.created');
    for (const stream of [carolOnA, carolOnB]) expect(stream.ofType('message.created')).to.deep.equal([]);
  });

  it('closes a session’s streams on both instances when it logs out on one', async () => {
    const [dave] = await a.registerUsers('dave');
    const onA = await subscribe(a, dave);
    const onB = await subscribe(b, dave);
    await onA.until(() => onA.retry !== undefined, 'the stream on a to open');
    await onB.until(() => onB.retry !== undefined, 'the stream on b to open');
    await b.client(dave.token).POST('/v1/auth/logout', {});
    const closedWithin = (s: EventClient) =>
      Promise.race([
        s.done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('still open')), 3000)),
      ]);
    await Promise.all([closedWithin(onA), closedWithin(onB)]);
  });

  it('relays typing from one instance to the other', async () => {
    const chatId = await a.chatWith(alice, bob);
    const bobs = await subscribe(b, bob);
    await bobs.until(() => bobs.retry !== undefined, 'the stream to open');
    await a.client(alice.token).POST('/v1/chats/{chat_id}/typing', { params: { path: { chat_id: chatId } } });
    expect((await bobs.next('typing')).data).to.deep.include({ chat_id: chatId, user_id: alice.userId });
  });
});

describe('the event stream when the API stops', function () {
  this.timeout(60_000);

  it('ends every stream at once instead of holding the shutdown to its deadline', async () => {
    const t = await TestContext.start({ SHUTDOWN_TIMEOUT_MS: '20000' });
    const [user] = await t.registerUsers('leaving');
    const stream = await EventClient.open(t.baseUrl, { token: user.token });
    await stream.until(() => stream.retry !== undefined, 'the stream to open');
    const started = Date.now();
    await t.stop();
    await stream.done;
    expect(Date.now() - started).to.be.below(5_000);
  });
});

describe('the per-user stream limit across two API instances', function () {
  this.timeout(60_000);

  it('closes the oldest of a user’s streams wherever it is, once they open one too many', async () => {
    const env = { EVENTS_MAX_STREAMS_PER_USER: '2' };
    const [a, b] = [await TestContext.start(env), await TestContext.start(env)];
    const streams: EventClient[] = [];
    try {
      const [user] = await a.registerUsers('busy');
      for (const on of [a, b, a]) {
        const stream = await EventClient.open(on.baseUrl, { token: user.token });
        await stream.until(() => stream.retry !== undefined, 'the stream to open');
        streams.push(stream);
      }
      await Promise.race([
        streams[0]!.done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the oldest stayed open')), 3000)),
      ]);
      // No instance ever holds more than two of them: only the roster they share can close any.
      const fourth = await EventClient.open(b.baseUrl, { token: user.token });
      streams.push(fourth);
      await Promise.race([
        streams[1]!.done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the stream on b stayed open')), 3000)),
      ]);
      expect(streams.map((s) => s.isEnded)).to.deep.equal([true, true, false, false]);
    } finally {
      await Promise.all(streams.map((s) => s.close()));
      await a.stop();
      await b.stop();
    }
  });
});
