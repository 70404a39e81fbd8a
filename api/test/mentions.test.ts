import { expect } from 'chai';
import { mentionCandidates } from '../src/messages/mentions.ts';
import { EventClient } from './support/event-client.ts';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';

describe('mention candidates (mentionCandidates)', () => {
  it('finds @names that start a word, with and without trailing punctuation, in order, once', () => {
    expect(mentionCandidates('hi @bob, and @Carol! (@dave) @bob')).to.deep.equal([
      'bob,',
      'bob',
      'Carol!',
      'Carol',
      'dave)',
      'dave',
    ]);
  });

  it('finds none in e-mail addresses, a lone @, or text without any', () => {
    expect(mentionCandidates('write to bob@example.com or @ or @@')).to.deep.equal([]);
    expect(mentionCandidates('nothing here')).to.deep.equal([]);
  });

  it('looks up at most 50 names however many a text holds', () => {
    const text = Array.from({ length: 200 }, (_, i) => `@u${i}`).join(' ');
    expect(mentionCandidates(text)).to.have.length(50);
  });
});

describe('mentions (@user_name)', function () {
  this.timeout(60_000);
  let t: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let stranger: TestUser;
  const streams: EventClient[] = [];
  before(async () => {
    t = await TestContext.start();
    [alice, bob, carol, stranger] = await t.registerUsers('alice', 'bob', 'carol', 'stranger');
  });
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
  });
  after(() => t.stop());

  const mentionsOf = async (reader: TestUser, chatId: string, messageId: string) => {
    const { data } = await t.history(reader, chatId);
    return data!.messages.find((m) => m.message_id === messageId)!.mentions;
  };
  const storedMentions = async (messageId: string) =>
    (
      await t.database.db
        .selectFrom('messages')
        .select('mentions')
        .where('id', '=', messageId)
        .executeTakeFirstOrThrow()
    ).mentions;
  const chatOf = async (user: TestUser, chatId: string) => {
    const { data } = await user.api.GET('/v1/chats/{chat_id}', { params: { path: { chat_id: chatId } } });
    return data!;
  };
  const listed = async (user: TestUser, chatId: string) => {
    const { data } = await user.api.GET('/v1/chats', { params: { query: { limit: 100 } } });
    return data!.chats.find((c) => c.chat_id === chatId)!;
  };
  const markRead = (user: TestUser, chatId: string, messageId: string) =>
    user.api.POST('/v1/chats/{chat_id}/read', {
      params: { path: { chat_id: chatId } },
      body: { message_id: messageId },
    });

  it('mentions members named with @, matching names as logins do (case aside), in order, once each', async () => {
    const chatId = await t.chatWith(alice, bob, carol);
    const id = await t.post(
      alice,
      chatId,
      `@${carol.userName.toUpperCase()}: ask @${bob.userName}, then @${carol.userName} again`,
    );
    expect(await mentionsOf(bob, chatId, id)).to.deep.equal([carol.userId, bob.userId]);
    expect(await storedMentions(id)).to.deep.equal([carol.userId, bob.userId]);
  });

  it('mentions no one for a name of someone who is not a member, or of no one, or inside an address', async () => {
    const chatId = await t.chatWith(alice, bob);
    const id = await t.post(
      alice,
      chatId,
      `@${stranger.userName} @${uniqueName('nobody')} mail ${bob.userName}@example.com`,
    );
    expect(await mentionsOf(alice, chatId, id)).to.deep.equal([]);
  });

  it('resolves mentions in each message of a batch', async () => {
    const chatId = await t.chatWith(alice, bob, carol);
    const { data } = await alice.api.POST('/v1/chats/{chat_id}/messages/batch', {
      params: { path: { chat_id: chatId } },
      body: {
        messages: [{ message: `@${bob.userName}` }, { message: 'none' }, { message: `@${carol.userName}!` }],
      },
    });
    const [first, second, third] = data!.message_ids;
    expect(await storedMentions(first!)).to.deep.equal([bob.userId]);
    expect(await storedMentions(second!)).to.deep.equal([]);
    expect(await storedMentions(third!)).to.deep.equal([carol.userId]);
  });

  it('counts unread mentions in the chat list (mention_count) until the member reads past them', async () => {
    const chatId = await t.chatWith(alice, bob, carol);
    const m1 = await t.post(alice, chatId, `@${bob.userName} one`);
    await t.post(alice, chatId, 'no mention');
    const m3 = await t.post(carol, chatId, `and @${bob.userName} two`);
    // Mentioning yourself is no news to you.
    await t.post(bob, chatId, `I am @${bob.userName}`);
    expect(await listed(bob, chatId)).to.deep.include({ unread_count: 3, mention_count: 2 });
    expect(await chatOf(bob, chatId)).to.deep.include({ mention_count: 2 });
    expect(await listed(carol, chatId)).to.deep.include({ mention_count: 0 });
    const read = await markRead(bob, chatId, m1);
    expect(read.data).to.deep.include({ unread_count: 2, mention_count: 1 });
    expect(await listed(bob, chatId)).to.deep.include({ mention_count: 1 });
    await markRead(bob, chatId, m3);
    expect(await listed(bob, chatId)).to.deep.include({ mention_count: 0 });
    const row = await t.database.db
      .selectFrom('chat_members')
      .select('mention_count')
      .where('chat_id', '=', chatId)
      .where('user_id', '=', bob.userId)
      .executeTakeFirstOrThrow();
    expect(row.mention_count).to.equal(0);
  });

  it('takes a deleted unread mention off the count, and a read one not', async () => {
    const chatId = await t.chatWith(alice, bob);
    const read = await t.post(alice, chatId, `@${bob.userName} read`);
    await markRead(bob, chatId, read);
    const unread = await t.post(alice, chatId, `@${bob.userName} unread`);
    expect(await listed(bob, chatId)).to.deep.include({ mention_count: 1 });
    await alice.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: read } },
    });
    expect(await listed(bob, chatId)).to.deep.include({ mention_count: 1 });
    await alice.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: unread } },
    });
    expect(await listed(bob, chatId)).to.deep.include({ mention_count: 0 });
  });

  it('marks message.created `mentioned` on the mentioned member’s stream only', async () => {
    const chatId = await t.chatWith(alice, bob, carol);
    const [bobs, carols, alices, strangers] = await Promise.all(
      [bob, carol, alice, stranger].map((u) => EventClient.open(t.baseUrl, { token: u.token })),
    );
    streams.push(bobs!, carols!, alices!, strangers!);
    const id = await t.post(alice, chatId, `@${bob.userName} look, and @${stranger.userName} cannot`);
    const forBob = await bobs!.next('message.created', (d) => d.chat_id === chatId);
    expect(forBob.data).to.deep.include({ chat_id: chatId, mentioned: true });
    expect(forBob.data.message).to.deep.include({ message_id: id, mentions: [bob.userId] });
    const forCarol = await carols!.next('message.created', (d) => d.chat_id === chatId);
    expect(forCarol.data).to.not.have.property('mentioned');
    expect(forCarol.data.message).to.deep.equal((forBob.data as { message: unknown }).message);
    expect(forCarol.id).to.equal(forBob.id);
    // The author mentioning themself is not marked either.
    await t.post(alice, chatId, `me, @${alice.userName}`);
    const own = await alices!.next(
      'message.created',
      (d) => d.chat_id === chatId && (d.message as { text: string }).text.startsWith('me,'),
    );
    expect(own.data.message).to.deep.include({ mentions: [alice.userId] });
    expect(own.data).to.not.have.property('mentioned');
    expect(strangers!.events.filter((e) => e.data.chat_id === chatId)).to.deep.equal([]);
  });

  it('marks the mention on a stream that resumes with Last-Event-ID too', async () => {
    const chatId = await t.chatWith(alice, bob);
    const first = await EventClient.open(t.baseUrl, { token: bob.token });
    streams.push(first);
    await t.post(alice, chatId, 'before');
    const before = await first.next('message.created', (d) => d.chat_id === chatId);
    await first.close();
    await t.post(alice, chatId, `@${bob.userName} while you were away`);
    const resumed = await EventClient.open(t.baseUrl, { token: bob.token, lastEventId: before.id! });
    streams.push(resumed);
    const missed = await resumed.next('message.created', (d) => d.chat_id === chatId);
    expect(missed.data).to.deep.include({ mentioned: true });
  });
});
