import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { KyselyPlugin } from 'kysely';
import type { Database } from '@messenger/shared';
import { canonicalEmoji } from '../src/reactions/emoji.ts';
import { sharedBackends } from './support/backends.ts';
import { EventClient } from './support/event-client.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

/** The run's database, seen through a plugin that counts the statements it runs. */
function countingDatabase(database: Database): { database: Database; count: () => number } {
  let queries = 0;
  const counter: KyselyPlugin = {
    transformQuery: (args) => {
      queries++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return {
    database: { ...database, db: database.db.withPlugin(counter), close: async () => {} },
    count: () => queries,
  };
}

describe('reaction emoji (canonicalEmoji)', () => {
  it('takes one emoji grapheme: plain, skin tone, flag, keycap, ZWJ family, tag flag', () => {
    for (const emoji of ['👍', '👍🏽', '🇫🇷', '1️⃣', '👩‍👩‍👧', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🎉']) {
      expect(canonicalEmoji(emoji)).to.equal(emoji);
    }
  });

  it('takes short names of a-z 0-9 _ + - between colons, as they are', () => {
    for (const name of [':thumbsup:', ':+1:', ':party_parrot:', ':a-b:']) {
      expect(canonicalEmoji(name)).to.equal(name);
    }
  });

  it('gives a lone emoji one form: ❤ and ❤️ are one reaction, 👍 and 👍️ another', () => {
    expect(canonicalEmoji('❤')).to.equal('❤\uFE0F');
    expect(canonicalEmoji('❤\uFE0F')).to.equal('❤\uFE0F');
    expect(canonicalEmoji('👍\uFE0F')).to.equal('👍');
  });

  it('refuses text, two emoji, a bare digit, combining marks and malformed short names (400)', () => {
    const bad = [
      'a',
      'ab',
      '1',
      '#',
      'é',
      'e\u0301',
      '👍👍',
      '👍 ',
      ' ',
      '::',
      ':Thumbsup:',
      `:${'x'.repeat(33)}:`,
      ':a b:',
    ];
    for (const raw of bad) {
      expect(() => canonicalEmoji(raw), JSON.stringify(raw)).to.throw(/emoji/);
    }
  });
});

describe('reactions (PUT/DELETE /v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji})', function () {
  this.timeout(60_000);
  let t: TestContext;
  let owner: TestUser;
  let member: TestUser;
  let stranger: TestUser;
  const streams: EventClient[] = [];
  before(async () => {
    t = await TestContext.start();
    [owner, member, stranger] = await t.registerUsers('owner', 'member', 'stranger');
  });
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
  });
  after(() => t.stop());

  const path = (chat_id: string, message_id: string, emoji: string) => ({
    params: { path: { chat_id, message_id, emoji } },
  });
  const react = (user: TestUser | undefined, chatId: string, messageId: string, emoji: string) =>
    (user?.api ?? t.api).PUT(
      '/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}',
      path(chatId, messageId, emoji),
    );
  const unreact = (user: TestUser | undefined, chatId: string, messageId: string, emoji: string) =>
    (user?.api ?? t.api).DELETE(
      '/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}',
      path(chatId, messageId, emoji),
    );
  const rows = (messageId: string) =>
    t.database.db
      .selectFrom('message_reactions')
      .select(['emoji', 'user_id'])
      .where('message_id', '=', messageId)
      .orderBy('created_at')
      .execute();
  const reactionsIn = async (user: TestUser, chatId: string, messageId: string) => {
    const { data, response } = await t.history(user, chatId);
    expect(response.status).to.equal(200);
    return data!.messages.find((m) => m.message_id === messageId)!.reactions;
  };
  const subscribe = async (user: TestUser) => {
    const stream = await EventClient.open(t.baseUrl, { token: user.token });
    streams.push(stream);
    return stream;
  };
  async function chatWithMessage(): Promise<{ chatId: string; messageId: string }> {
    const chatId = await t.chatWith(owner, member);
    return { chatId, messageId: await t.post(owner, chatId, 'react to me') };
  }

  it('answers 401 auth-failed without a session, and stores nothing', async () => {
    const { chatId, messageId } = await chatWithMessage();
    expectError(await react(undefined, chatId, messageId, '👍'), 401, 'auth-failed');
    expectError(await unreact(undefined, chatId, messageId, '👍'), 401, 'auth-failed');
    expect(await rows(messageId)).to.deep.equal([]);
  });

  it('answers 400 bad-parameters for what is not one emoji or a short name, and stores nothing', async () => {
    const { chatId, messageId } = await chatWithMessage();
    for (const emoji of ['a', '👍👍', 'thumbsup', ':Thumbs Up:', '1']) {
      expectError(await react(member, chatId, messageId, emoji), 400, 'bad-parameters', /emoji/);
      expectError(await unreact(member, chatId, messageId, emoji), 400, 'bad-parameters', /emoji/);
    }
    expect(await rows(messageId)).to.deep.equal([]);
  });

  it('answers 403 forbidden to someone who is not a member', async () => {
    const { chatId, messageId } = await chatWithMessage();
    expectError(await react(stranger, chatId, messageId, '👍'), 403, 'forbidden', /member/);
    expectError(await unreact(stranger, chatId, messageId, '👍'), 403, 'forbidden', /member/);
    expect(await rows(messageId)).to.deep.equal([]);
  });

  it('answers 404 for an unknown or malformed chat, and an unknown, malformed or other chat’s message', async () => {
    const { chatId, messageId } = await chatWithMessage();
    const other = await chatWithMessage();
    for (const chat of [randomUUID(), 'nope']) {
      expectError(await react(member, chat, messageId, '👍'), 404, 'chat-not-found');
    }
    for (const message of [randomUUID(), 'nope', other.messageId]) {
      expectError(await react(member, chatId, message, '👍'), 404, 'message-not-found');
      expectError(await unreact(member, chatId, message, '👍'), 404, 'message-not-found');
    }
  });

  it('counts a reaction once however often it is sent, and answers the reactions as the caller sees them', async () => {
    const { chatId, messageId } = await chatWithMessage();
    const first = await react(member, chatId, messageId, '👍');
    expect(first.response.status).to.equal(200);
    expect(first.data).to.deep.equal({
      chat_id: chatId,
      message_id: messageId,
      reactions: [{ emoji: '👍', count: 1, me: true }],
    });
    const again = await react(member, chatId, messageId, '👍\uFE0F');
    expect(again.data!.reactions).to.deep.equal([{ emoji: '👍', count: 1, me: true }]);
    const byOwner = await react(owner, chatId, messageId, ':thumbsup:');
    expect(byOwner.data!.reactions).to.deep.equal([
      { emoji: '👍', count: 1, me: false },
      { emoji: ':thumbsup:', count: 1, me: true },
    ]);
    expect(await rows(messageId)).to.deep.equal([
      { emoji: '👍', user_id: member.userId },
      { emoji: ':thumbsup:', user_id: owner.userId },
    ]);
  });

  it('shows each reader their own `me` in the history, also from the cache', async () => {
    const { chatId, messageId } = await chatWithMessage();
    await react(member, chatId, messageId, '🎉');
    // The owner's read caches a page first; the member's must not be that page.
    expect(await reactionsIn(owner, chatId, messageId)).to.deep.equal([{ emoji: '🎉', count: 1, me: false }]);
    expect(await reactionsIn(member, chatId, messageId)).to.deep.equal([{ emoji: '🎉', count: 1, me: true }]);
    expect(await reactionsIn(owner, chatId, messageId)).to.deep.equal([{ emoji: '🎉', count: 1, me: false }]);
    // A reaction drops every cached page of the chat: both readers see the new count.
    await react(owner, chatId, messageId, '🎉');
    expect(await reactionsIn(owner, chatId, messageId)).to.deep.equal([{ emoji: '🎉', count: 2, me: true }]);
    expect(await reactionsIn(member, chatId, messageId)).to.deep.equal([{ emoji: '🎉', count: 2, me: true }]);
  });

  it('takes a reaction back; taking back one you do not have changes nothing', async () => {
    const { chatId, messageId } = await chatWithMessage();
    await react(member, chatId, messageId, '❤');
    await react(owner, chatId, messageId, '❤️');
    await reactionsIn(member, chatId, messageId); // cached
    const removed = await unreact(member, chatId, messageId, '❤️');
    expect(removed.response.status).to.equal(200);
    expect(removed.data!.reactions).to.deep.equal([{ emoji: '❤\uFE0F', count: 1, me: false }]);
    const none = await unreact(member, chatId, messageId, '❤️');
    expect(none.response.status).to.equal(200);
    expect(none.data!.reactions).to.deep.equal([{ emoji: '❤\uFE0F', count: 1, me: false }]);
    expect(await reactionsIn(member, chatId, messageId)).to.deep.equal([
      { emoji: '❤\uFE0F', count: 1, me: false },
    ]);
    await unreact(owner, chatId, messageId, '❤');
    expect(await reactionsIn(member, chatId, messageId)).to.deep.equal([]);
    expect(await rows(messageId)).to.deep.equal([]);
  });

  it('allows 20 distinct emoji on a message: a 21st is 409 too-many-reactions, joining one is fine', async () => {
    const { chatId, messageId } = await chatWithMessage();
    const names = Array.from({ length: 20 }, (_, i) => `:e${i}:`);
    for (const name of names)
      expect((await react(owner, chatId, messageId, name)).response.status).to.equal(200);
    expectError(await react(member, chatId, messageId, '👍'), 409, 'too-many-reactions', /20/);
    const joined = await react(member, chatId, messageId, ':e7:');
    expect(joined.response.status).to.equal(200);
    expect(joined.data!.reactions).to.have.length(20);
    expect(joined.data!.reactions[7]).to.deep.equal({ emoji: ':e7:', count: 2, me: true });
    expect(await rows(messageId)).to.have.length(21);
  });

  it('lets exactly 20 of 25 racing new emoji in, the rest 409', async () => {
    const { chatId, messageId } = await chatWithMessage();
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => react(i % 2 ? owner : member, chatId, messageId, `:race${i}:`)),
    );
    const statuses = answers.map((a) => a.response.status);
    expect(statuses.filter((s) => s === 200)).to.have.length(20);
    expect(statuses.filter((s) => s === 409)).to.have.length(5);
    expect(await rows(messageId)).to.have.length(20);
  });

  it('goes with its message when the message is deleted', async () => {
    const { chatId, messageId } = await chatWithMessage();
    await react(member, chatId, messageId, '👍');
    await owner.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: messageId } },
    });
    expect(await rows(messageId)).to.deep.equal([]);
  });

  it('sends reaction.added and reaction.removed to members only, and nothing for a change that changes nothing', async () => {
    const { chatId, messageId } = await chatWithMessage();
    const owners = await subscribe(owner);
    const strangers = await subscribe(stranger);
    await react(member, chatId, messageId, '👍');
    await react(member, chatId, messageId, '👍');
    const added = await owners.next('reaction.added', (d) => d.message_id === messageId);
    expect(added.data).to.deep.equal({
      chat_id: chatId,
      message_id: messageId,
      emoji: '👍',
      user_id: member.userId,
      count: 1,
    });
    await unreact(member, chatId, messageId, '👍');
    await unreact(member, chatId, messageId, '👍');
    const removed = await owners.next('reaction.removed', (d) => d.message_id === messageId);
    expect(removed.data).to.deep.include({ emoji: '👍', user_id: member.userId, count: 0 });
    expect(Number(removed.id)).to.be.greaterThan(Number(added.id));
    // A message after them: once it is here, any duplicate would have been too.
    await t.post(owner, chatId, 'after');
    await owners.next('message.created', (d) => d.chat_id === chatId);
    expect(owners.ofType('reaction.added')).to.have.length(1);
    expect(owners.ofType('reaction.removed')).to.have.length(1);
    expect(strangers.events.filter((e) => e.data.chat_id === chatId)).to.deep.equal([]);
  });

  it('answers an edit with the editor’s `me`, and sends message.edited with `me` false to everyone', async () => {
    const { chatId, messageId } = await chatWithMessage();
    await react(owner, chatId, messageId, '👍');
    const members = await subscribe(member);
    const edited = await owner.api.PATCH('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id: chatId, message_id: messageId } },
      body: { message: 'edited' },
    });
    expect(edited.data!.reactions).to.deep.equal([{ emoji: '👍', count: 1, me: true }]);
    const event = await members.next('message.edited', (d) => d.chat_id === chatId);
    expect((event.data.message as { reactions: unknown }).reactions).to.deep.equal([
      { emoji: '👍', count: 1, me: false },
    ]);
  });

  it('reads a history page of reacted messages in as many statements as one without reactions', async () => {
    const counted = countingDatabase((await sharedBackends()).database);
    // No cache: every read goes to the database.
    const ctx = await TestContext.start({ HISTORY_CACHE_TTL_SECONDS: '0' }, { database: counted.database });
    try {
      const [a, b] = await Promise.all([ctx.registerUser('a'), ctx.registerUser('b')]);
      const chatId = await ctx.chatWith(a, b);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await ctx.post(a, chatId, `m${i}`));
      const statements = async () => {
        const before = counted.count();
        const page = await ctx.history(b, chatId, { limit: 100 });
        expect(page.response.status).to.equal(200);
        return { n: counted.count() - before, messages: page.data!.messages };
      };
      await statements(); // membership now known
      const plain = await statements();
      for (const id of ids) {
        await b.api.PUT('/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}', {
          params: { path: { chat_id: chatId, message_id: id, emoji: '👍' } },
        });
        await a.api.PUT('/v1/chats/{chat_id}/messages/{message_id}/reactions/{emoji}', {
          params: { path: { chat_id: chatId, message_id: id, emoji: ':ok:' } },
        });
      }
      const reacted = await statements();
      expect(reacted.n).to.equal(plain.n);
      expect(reacted.n).to.be.at.most(2);
      expect(reacted.messages.every((m) => m.reactions.length === 2)).to.equal(true);
      expect(reacted.messages[0]!.reactions).to.deep.equal([
        { emoji: '👍', count: 1, me: true },
        { emoji: ':ok:', count: 1, me: false },
      ]);
    } finally {
      await ctx.stop();
    }
  });
});
