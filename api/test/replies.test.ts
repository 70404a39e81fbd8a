import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { EventClient } from './support/event-client.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

describe('replies and threads', function () {
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

  const reply = (user: TestUser | undefined, chat_id: string, reply_to: string, message = 'a reply') =>
    (user?.api ?? t.api).POST('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id } },
      body: { message, reply_to },
    });
  const postReply = async (user: TestUser, chatId: string, rootId: string, text: string) => {
    const { data, response } = await reply(user, chatId, rootId, text);
    expect(response.status).to.equal(201);
    return data!.message_id;
  };
  const thread = (
    user: TestUser | undefined,
    chat_id: string,
    message_id: string,
    query: { limit: number; from?: string } = { limit: 100 },
  ) =>
    (user?.api ?? t.api).GET('/v1/chats/{chat_id}/messages/{message_id}/replies', {
      params: { path: { chat_id, message_id }, query },
    });
  const inHistory = async (user: TestUser, chatId: string, messageId: string) => {
    const { data } = await t.history(user, chatId);
    return data!.messages.find((m) => m.message_id === messageId);
  };
  const stored = (messageId: string) =>
    t.database.db
      .selectFrom('messages')
      .select(['reply_to', 'reply_count', 'last_reply_at', 'created_at'])
      .where('id', '=', messageId)
      .executeTakeFirst();
  const remove = (user: TestUser, chat_id: string, message_id: string) =>
    user.api.DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id, message_id } },
    });
  async function chatWithRoot(): Promise<{ chatId: string; rootId: string }> {
    const chatId = await t.chatWith(owner, member);
    return { chatId, rootId: await t.post(owner, chatId, 'the root') };
  }

  describe('posting a reply (reply_to)', () => {
    it('answers 400 bad-parameters for a malformed id, an unknown message or another chat’s, and stores nothing', async () => {
      const { chatId } = await chatWithRoot();
      const other = await chatWithRoot();
      for (const bad of ['nope', randomUUID(), other.rootId]) {
        expectError(await reply(member, chatId, bad), 400, 'bad-parameters', /reply_to/);
      }
      expect(await t.messageCount(chatId)).to.equal(1);
      expect((await stored(other.rootId))!.reply_count).to.equal(0);
    });

    it('answers 400 for a reply to a message that has been deleted', async () => {
      const { chatId, rootId } = await chatWithRoot();
      await remove(owner, chatId, rootId);
      expectError(await reply(member, chatId, rootId), 400, 'bad-parameters', /reply_to/);
    });

    it('answers 403 to a stranger, who cannot reply either', async () => {
      const { chatId, rootId } = await chatWithRoot();
      expectError(await reply(stranger, chatId, rootId), 403, 'forbidden');
      expect((await stored(rootId))!.reply_count).to.equal(0);
    });

    it('stores the reply with reply_to, and counts it on the root: reply_count, last_reply_at', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const before = await inHistory(member, chatId, rootId); // cached
      expect(before).to.deep.include({ reply_to: null, reply_count: 0, last_reply_at: null });
      const first = await postReply(member, chatId, rootId, 'first reply');
      const second = await postReply(owner, chatId, rootId, 'second reply');
      const root = await inHistory(member, chatId, rootId);
      const secondRow = await stored(second);
      expect(root).to.deep.include({
        reply_to: null,
        reply_count: 2,
        last_reply_at: new Date(secondRow!.created_at).toISOString(),
      });
      expect(await inHistory(member, chatId, first)).to.deep.include({ reply_to: rootId, reply_count: 0 });
      expect(secondRow).to.deep.include({ reply_to: rootId });
    });

    it('takes reply_to in batch items: all or none', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const batch = (messages: unknown[]) =>
        member.api.POST('/v1/chats/{chat_id}/messages/batch', {
          params: { path: { chat_id: chatId } },
          body: { messages } as never,
        });
      expectError(
        await batch([
          { message: 'ok', reply_to: rootId },
          { message: 'bad', reply_to: 'x' },
        ]),
        400,
        'bad-parameters',
        /messages\.1\.reply_to/,
      );
      expectError(
        await batch([
          { message: 'ok', reply_to: rootId },
          { message: 'gone', reply_to: randomUUID() },
        ]),
        400,
        'bad-parameters',
        /reply_to/,
      );
      expect(await t.messageCount(chatId)).to.equal(1);
      expect((await stored(rootId))!.reply_count).to.equal(0);
      const { data, response } = await batch([
        { message: 'one', reply_to: rootId },
        { message: 'not a reply' },
        { message: 'two', reply_to: rootId },
      ]);
      expect(response.status).to.equal(201);
      expect((await stored(rootId))!.reply_count).to.equal(2);
      expect((await stored(data!.message_ids[1]!))!.reply_to).to.equal(null);
    });
  });

  describe('reading a thread (GET …/messages/{message_id}/replies)', () => {
    it('answers 401 auth-failed without a session', async () => {
      const { chatId, rootId } = await chatWithRoot();
      expectError(await thread(undefined, chatId, rootId), 401, 'auth-failed');
    });

    it('answers 400 bad-parameters for a limit out of range or an iterator it did not issue', async () => {
      const { chatId, rootId } = await chatWithRoot();
      for (const limit of [0, 1001]) {
        expectError(await thread(member, chatId, rootId, { limit }), 400, 'bad-parameters', /limit/);
      }
      const forged = Buffer.from(JSON.stringify({ r: -1 })).toString('base64url');
      expectError(
        await thread(member, chatId, rootId, { limit: 5, from: forged }),
        400,
        'bad-parameters',
        /from/,
      );
    });

    it('answers 403 to a stranger and 404 for an unknown chat or a message that is not of it', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const other = await chatWithRoot();
      expectError(await thread(stranger, chatId, rootId), 403, 'forbidden');
      expectError(await thread(member, randomUUID(), rootId), 404, 'chat-not-found');
      for (const message of [randomUUID(), 'nope', other.rootId]) {
        expectError(await thread(member, chatId, message), 404, 'message-not-found');
      }
    });

    it('pages the replies oldest first, never repeating or skipping one, with the root', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) {
        ids.push(await postReply(i % 2 ? member : owner, chatId, rootId, `r${i}`));
        await t.post(owner, chatId, `not in the thread ${i}`);
      }
      const empty = await thread(member, chatId, ids[0]!);
      expect(empty.data).to.deep.include({ root_deleted: false, messages: [] });
      const seen: string[] = [];
      let from: string | undefined;
      let pages = 0;
      do {
        const { data, response } = await thread(member, chatId, rootId, { limit: 2, ...(from && { from }) });
        expect(response.status).to.equal(200);
        expect(data!.root).to.deep.include({ message_id: rootId, reply_count: pages === 0 ? 5 : 6 });
        seen.push(...data!.messages.map((m) => m.message_id));
        // A reply posted while paging lands at the end, once.
        if (pages === 0) ids.push(await postReply(owner, chatId, rootId, 'late'));
        from = data!.next?.iterator;
        pages++;
      } while (from);
      expect(seen).to.deep.equal(ids);
      expect(pages).to.equal(3);
    });

    it('keeps a deleted root’s thread readable, the root shown as deleted', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const a = await postReply(member, chatId, rootId, 'a');
      const b = await postReply(member, chatId, rootId, 'b');
      await remove(owner, chatId, rootId);
      const { data, response } = await thread(member, chatId, rootId, { limit: 1 });
      expect(response.status).to.equal(200);
      expect(data).to.not.have.property('root');
      expect(data!.root_deleted).to.equal(true);
      expect(data!.messages.map((m) => m.message_id)).to.deep.equal([a]);
      const rest = await thread(member, chatId, rootId, { limit: 1, from: data!.next!.iterator });
      expect(rest.data!.messages.map((m) => m.message_id)).to.deep.equal([b]);
      expect((await inHistory(member, chatId, b))!.reply_to).to.equal(rootId);
      // Once its last reply is gone too, there is nothing there.
      await remove(member, chatId, a);
      await remove(member, chatId, b);
      expectError(await thread(member, chatId, rootId), 404, 'message-not-found');
    });

    it('takes a deleted reply off the root’s counts: reply_count, and last_reply_at back to the reply before', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const a = await postReply(member, chatId, rootId, 'a');
      const b = await postReply(member, chatId, rootId, 'b');
      await remove(member, chatId, b);
      const aAt = new Date((await stored(a))!.created_at).toISOString();
      expect(await inHistory(owner, chatId, rootId)).to.deep.include({ reply_count: 1, last_reply_at: aAt });
      await remove(member, chatId, a);
      expect(await inHistory(owner, chatId, rootId)).to.deep.include({ reply_count: 0, last_reply_at: null });
    });
  });

  describe('events', () => {
    it('sends message.created with reply_to and message.thread_updated to members, nothing to strangers', async () => {
      const { chatId, rootId } = await chatWithRoot();
      const owners = await EventClient.open(t.baseUrl, { token: owner.token });
      const strangers = await EventClient.open(t.baseUrl, { token: stranger.token });
      streams.push(owners, strangers);
      const replyId = await postReply(member, chatId, rootId, 'in the thread');
      const created = await owners.next('message.created', (d) => d.chat_id === chatId);
      expect(created.data.message).to.deep.include({ message_id: replyId, reply_to: rootId });
      const updated = await owners.next('message.thread_updated', (d) => d.chat_id === chatId);
      const at = new Date((await stored(replyId))!.created_at).toISOString();
      expect(updated.data).to.deep.equal({
        chat_id: chatId,
        message_id: rootId,
        reply_count: 1,
        last_reply_at: at,
      });
      expect(Number(updated.id)).to.be.greaterThan(Number(created.id));
      // The event's message is the history's.
      expect(created.data.message).to.deep.equal(await inHistory(owner, chatId, replyId));

      await remove(member, chatId, replyId);
      const after = await owners.next(
        'message.thread_updated',
        (d) => d.chat_id === chatId && d.reply_count === 0,
      );
      expect(after.data).to.deep.include({ message_id: rootId, last_reply_at: null });
      expect(strangers.events.filter((e) => e.data.chat_id === chatId)).to.deep.equal([]);
    });
  });
});
