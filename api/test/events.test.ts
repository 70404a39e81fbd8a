import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { EventClient } from './support/event-client.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

describe('the event stream (GET /v1/events)', function () {
  this.timeout(60_000);
  let t: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  const open: EventClient[] = [];
  const subscribe = async (user: TestUser, lastEventId?: string) => {
    const client = await EventClient.open(t.baseUrl, {
      token: user.token,
      ...(lastEventId && { lastEventId }),
    });
    open.push(client);
    return client;
  };

  before(async () => {
    t = await TestContext.start({ EVENTS_HEARTBEAT_SECONDS: '1', EVENTS_MAX_STREAMS_PER_USER: '3' });
    alice = await t.registerUser('alice');
    bob = await t.registerUser('bob');
    carol = await t.registerUser('carol');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  after(() => t.stop());

  it('answers text/event-stream with retry advice and heartbeats', async () => {
    const stream = await subscribe(alice);
    expect(stream.response.status).to.equal(200);
    expect(stream.response.headers.get('content-type')).to.match(/^text\/event-stream/);
    expect(stream.response.headers.get('cache-control')).to.include('no-cache');
    await stream.until(() => stream.comments >= 1, 'a heartbeat');
    expect(stream.retry).to.equal(3000);
  });

  it('refuses a stream without a session or ticket (401) and with a bad ticket', async () => {
    const none = await fetch(new URL('/v1/events', t.baseUrl));
    expect(none.status).to.equal(401);
    const bad = await fetch(new URL('/v1/events?ticket=nope', t.baseUrl));
    expect(bad.status).to.equal(401);
    expect(await bad.json()).to.deep.include({ message: 'auth-failed' });
  });

  it('delivers a chat’s messages, edits and deletes to its members, and nothing to others', async () => {
    const chatId = await t.createChat(alice);
    await t.addMember(alice, chatId, bob);
    const bobs = await subscribe(bob);
    const carols = await subscribe(carol);
    const messageId = await t.post(alice, chatId, 'hello bob');
    const created = await bobs.next('message.created', (d) => d.chat_id === chatId);
    expect(created.data).to.deep.include({ chat_id: chatId });
    expect(created.data.message).to.deep.include({
      message_id: messageId,
      text: 'hello bob',
      user_name: alice.userName,
    });
    expect(created.id).to.match(/^\d+$/);
    // The very Message the history shows (the event's data is built by the database).
    const history = await t.history(bob, chatId);
    expect(created.data.message).to.deep.equal(history.data!.messages.at(-1));

    await alice.api.PATCH('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: messageId } },
      body: { message: 'hello, bob' },
    });
    const edited = await bobs.next('message.edited', (d) => d.chat_id === chatId);
    expect(edited.data.message).to.deep.include({ message_id: messageId, text: 'hello, bob' });

    await alice.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: messageId } },
    });
    const deleted = await bobs.next('message.deleted', (d) => d.chat_id === chatId);
    expect(deleted.data).to.deep.equal({ chat_id: chatId, message_id: messageId });
    expect(Number(deleted.id)).to.be.greaterThan(Number(edited.id));
    expect(Number(edited.id)).to.be.greaterThan(Number(created.id));

    // Carol's stream got nothing of it: a later event of her own arrives, and it is the only one.
    const own = await t.createChat(carol);
    await carols.next('chat.created');
    expect(carols.events.map((e) => e.event)).to.deep.equal(['chat.created']);
    expect((carols.events[0]!.data.chat as { chat_id: string }).chat_id).to.equal(own);
  });

  it('follows membership: added members start receiving, a removed one gets the removal and nothing after', async () => {
    const chatId = await t.createChat(alice);
    const bobs = await subscribe(bob);
    await t.addMember(alice, chatId, bob);
    const added = await bobs.next('chat.member_added', (d) => d.chat_id === chatId);
    expect(added.data).to.deep.include({ user_id: bob.userId, user_name: bob.userName, role: 'member' });
    await t.post(alice, chatId, 'welcome');
    await bobs.next('message.created', (d) => d.chat_id === chatId);

    const { response } = await alice.api.DELETE('/v1/chats/{chat_id}/users/{user_id}', {
      params: { path: { chat_id: chatId, user_id: bob.userId } },
    });
    expect(response.status).to.equal(204);
    await bobs.next('chat.member_removed', (d) => d.chat_id === chatId && d.user_id === bob.userId);
    await t.post(alice, chatId, 'after bob left');
    // Bob's next event of his own proves the stream is still live and the message never came.
    await t.createChat(bob);
    await bobs.next('chat.created');
    const texts = bobs.ofType('message.created').map((e) => (e.data.message as { text: string }).text);
    expect(texts).to.deep.equal(['welcome']);
  });

  it('resumes after Last-Event-ID with exactly the missed events, in order, then live ones', async () => {
    const chatId = await t.createChat(alice);
    await t.addMember(alice, chatId, bob);
    const first = await subscribe(bob);
    await t.post(alice, chatId, 'm1');
    await first.next('message.created', (d) => d.chat_id === chatId);
    const cursor = first.lastEventId!;
    await first.close();

    for (const text of ['m2', 'm3', 'm4']) await t.post(alice, chatId, text);
    const second = await subscribe(bob, cursor);
    await second.until(() => second.ofType('message.created').length >= 3, 'three missed messages');
    await t.post(alice, chatId, 'm5');
    await second.until(() => second.ofType('message.created').length >= 4, 'the live message');
    const texts = second.ofType('message.created').map((e) => (e.data.message as { text: string }).text);
    expect(texts).to.deep.equal(['m2', 'm3', 'm4', 'm5']);
    const ids = second.events.filter((e) => e.id).map((e) => Number(e.id));
    expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('replays a membership change inside the missed window: nothing of the chat after the removal', async () => {
    const chatId = await t.createChat(alice);
    await t.addMember(alice, chatId, bob);
    const first = await subscribe(bob);
    await t.post(alice, chatId, 'before');
    await first.next('message.created', (d) => d.chat_id === chatId);
    const cursor = first.lastEventId!;
    await first.close();

    await t.post(alice, chatId, 'missed while a member');
    await alice.api.DELETE('/v1/chats/{chat_id}/users/{user_id}', {
      params: { path: { chat_id: chatId, user_id: bob.userId } },
    });
    await t.post(alice, chatId, 'after the removal');
    const second = await subscribe(bob, cursor);
    await second.next('chat.member_removed', (d) => d.chat_id === chatId);
    await t.createChat(bob);
    await second.next('chat.created');
    const texts = second.ofType('message.created').map((e) => (e.data.message as { text: string }).text);
    expect(texts).to.deep.equal(['missed while a member']);
  });

  it('answers a cursor it never issued with one resync event carrying the current position', async () => {
    const stream = await subscribe(bob, 'not-a-cursor');
    const resync = await stream.next('resync');
    expect(resync.data).to.deep.equal({ reason: 'cursor-unknown' });
    expect(resync.id).to.match(/^\d+$/);
    const future = await subscribe(bob, '999999999999');
    expect((await future.next('resync')).data).to.deep.equal({ reason: 'cursor-unknown' });
  });

  it('opens a stream with a ticket once; the ticket then works no more', async () => {
    const { data, response } = await bob.api.POST('/v1/events/tickets', {});
    expect(response.status).to.equal(201);
    expect(Date.parse(data!.expires_at) - Date.now()).to.be.within(50_000, 61_000);
    // The store forgets it by itself within the minute; the key is the ticket's hash, never the ticket.
    const key = `event-ticket:${createHash('sha256').update(data!.ticket).digest('hex')}`;
    expect(await t.store.ttl(key)).to.be.within(1, 60);
    const stream = await EventClient.open(t.baseUrl, { ticket: data!.ticket });
    open.push(stream);
    expect(stream.response.status).to.equal(200);
    const chatId = await t.createChat(bob);
    await stream.next('chat.created', (d) => (d.chat as { chat_id: string }).chat_id === chatId);
    const again = await fetch(new URL(`/v1/events?ticket=${data!.ticket}`, t.baseUrl));
    expect(again.status).to.equal(401);
  });

  it('closes the streams of a session the moment it logs out, and only those', async () => {
    const dave = await t.registerUser('dave');
    const other = await t.client().POST('/v1/auth/login', {
      body: { user_name: dave.userName, password: dave.password },
    });
    const kept = await EventClient.open(t.baseUrl, { token: other.data!.session_id });
    open.push(kept);
    const ended = await subscribe(dave);
    await ended.until(() => ended.comments >= 1, 'the stream to be open');
    await dave.api.POST('/v1/auth/logout', {});
    await Promise.race([
      ended.done,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the stream stayed open')), 3000)),
    ]);
    expect(ended.isEnded).to.equal(true);
    expect(kept.isEnded).to.equal(false);
  });

  it('keeps at most EVENTS_MAX_STREAMS_PER_USER streams per user, closing the oldest', async () => {
    const erin = await t.registerUser('erin');
    const streams = [];
    for (let i = 0; i < 4; i++) {
      const s = await subscribe(erin);
      await s.until(() => s.comments >= 1 || s.isEnded, 'the stream to be open');
      streams.push(s);
    }
    await streams[0]!.done;
    expect(streams.map((s) => s.isEnded)).to.deep.equal([true, false, false, false]);
  });

  it('relays typing to the other members only, once per interval', async () => {
    const chatId = await t.createChat(alice);
    await t.addMember(alice, chatId, bob);
    const bobs = await subscribe(bob);
    const alices = await subscribe(alice);
    for (let i = 0; i < 3; i++) {
      const { response } = await alice.api.POST('/v1/chats/{chat_id}/typing', {
        params: { path: { chat_id: chatId } },
      });
      expect(response.status).to.equal(204);
    }
    const typing = await bobs.next('typing');
    expect(typing.id).to.equal(undefined);
    expect(typing.data).to.deep.equal({ chat_id: chatId, user_id: alice.userId, user_name: alice.userName });
    await t.post(bob, chatId, 'marker');
    await alices.next('message.created', (d) => d.chat_id === chatId);
    await bobs.next('message.created', (d) => d.chat_id === chatId);
    expect(bobs.ofType('typing')).to.have.length(1);
    expect(alices.ofType('typing')).to.have.length(0);
    const stranger = await carol.api.POST('/v1/chats/{chat_id}/typing', {
      params: { path: { chat_id: chatId } },
    });
    expect(stranger.response.status).to.equal(403);
  });
});
