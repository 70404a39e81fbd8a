import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { components } from '../src/generated/openapi.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

type Message = components['schemas']['Message'];
type Order = 'asc' | 'desc';

/** Ids of a chat that does not exist and of one that could not exist. */
const MISSING_CHAT_IDS = [randomUUID(), 'random_chat', 'x'.repeat(300)];

/** An iterator of the right encoding that this API never issued. */
const forgedIterator = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const textsOf = (messages: Message[]) => messages.map((m) => m.text);

/** "m1" … "mN", the texts the helpers post. */
const numbered = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

describe('messages', () => {
  let t: TestContext;
  let owner: TestUser;
  let member: TestUser;
  let stranger: TestUser;
  before(async () => {
    t = await TestContext.start();
    [owner, member, stranger] = await t.registerUsers('owner', 'member', 'stranger');
  });
  after(() => t.stop());

  /** A new chat of `owner` with `member` in it, and messages m1 … m`count` posted by `owner`. */
  async function chatWithMessages(count: number): Promise<{ chatId: string; messageIds: string[] }> {
    const chatId = await t.chatWith(owner, member);
    const messageIds = await postAll(chatId, numbered(1, count));
    return { chatId, messageIds };
  }

  async function postAll(chatId: string, texts: string[]): Promise<string[]> {
    const messageIds: string[] = [];
    for (const text of texts) messageIds.push(await t.post(owner, chatId, text));
    return messageIds;
  }

  const readPage = (
    user: TestUser,
    chatId: string,
    query: { limit: number; from?: string; order?: Order; user_id?: string },
  ) => t.history(user, chatId, query);

  /** Follows `next` from the page at `from` (the first page when absent) to the last; answers the pages. */
  async function readAll(
    chatId: string,
    limit: number,
    { order, from: start }: { order?: Order; from?: string } = {},
  ): Promise<Message[][]> {
    const pages: Message[][] = [];
    let from = start;
    do {
      const { data, response } = await readPage(owner, chatId, { limit, order, from });
      expect(response.status).to.equal(200);
      pages.push(data!.messages);
      from = data!.next?.iterator;
    } while (from !== undefined && pages.length < 100);
    return pages;
  }

  const storedMessages = (chatId: string) =>
    t.database.db
      .selectFrom('messages')
      .select(['id', 'chat_id', 'user_id', 'text', 'seq'])
      .where('chat_id', '=', chatId)
      .orderBy('seq')
      .execute();

  describe('POST /v1/chats/{chat_id}/messages (postMessage)', () => {
    let chatId: string;
    before(async () => {
      ({ chatId } = await chatWithMessages(0));
    });

    const postAs = (user: TestUser | undefined, chat_id: string, message: string, user_id?: string) =>
      (user?.api ?? t.api).POST('/v1/chats/{chat_id}/messages', {
        params: { path: { chat_id }, query: { user_id } },
        body: { message },
      });

    it('answers 401 auth-failed without a session, and stores nothing', async () => {
      expectError(await postAs(undefined, chatId, 'anonymous'), 401, 'auth-failed');
      expect(await storedMessages(chatId)).to.deep.equal([]);
    });

    it('answers 400 bad-parameters naming message when it is missing, empty, not a string or over 10000 characters', async () => {
      for (const body of [
        {},
        { message: '' },
        { message: 42 },
        { message: 'x'.repeat(10_001) },
        { message: 'a\u0000b' },
      ]) {
        const answer = await owner.api.POST('/v1/chats/{chat_id}/messages', {
          params: { path: { chat_id: chatId } },
          body: body as never,
        });
        expectError(answer, 400, 'bad-parameters', /message/);
      }
      expect(await storedMessages(chatId)).to.deep.equal([]);
    });

    it('answers 404 chat-not-found for an unknown chat id and for a malformed one', async () => {
      for (const missing of MISSING_CHAT_IDS) {
        expectError(await postAs(owner, missing, 'hello?'), 404, 'chat-not-found', /no chat/);
      }
    });

    it('answers 403 forbidden to a caller who is not a member, and stores nothing', async () => {
      expectError(await postAs(stranger, chatId, 'let me in'), 403, 'forbidden', /not a member/);
      expect(await storedMessages(chatId)).to.deep.equal([]);
    });

    it('answers 403 forbidden when ?user_id= names someone else, even another member', async () => {
      expectError(await postAs(owner, chatId, 'as member', member.userId), 403, 'forbidden', /user_id/);
      expect(await storedMessages(chatId)).to.deep.equal([]);
    });

    it('answers 201 and stores the message with its chat, author, text and next seq', async () => {
      const chat = (await chatWithMessages(0)).chatId;
      const first = await postAs(owner, chat, 'first');
      const second = await postAs(member, chat, 'second', member.userId);
      expect([first.response.status, second.response.status]).to.deep.equal([201, 201]);

      const rows = await storedMessages(chat);
      expect(rows.map((r) => ({ ...r, seq: Number(r.seq) }))).to.deep.equal([
        { id: first.data!.message_id, chat_id: chat, user_id: owner.userId, text: 'first', seq: 1 },
        { id: second.data!.message_id, chat_id: chat, user_id: member.userId, text: 'second', seq: 2 },
      ]);
      const stored = await t.database.db
        .selectFrom('chats')
        .select(['last_message_seq', 'last_message_at'])
        .where('id', '=', chat)
        .executeTakeFirstOrThrow();
      expect(Number(stored.last_message_seq)).to.equal(2);
      expect(stored.last_message_at).to.be.an.instanceOf(Date);
    });

    it('accepts a message of exactly 10000 characters', async () => {
      const chat = (await chatWithMessages(0)).chatId;
      const text = 'y'.repeat(10_000);
      const { response } = await postAs(owner, chat, text);
      expect(response.status).to.equal(201);
      expect((await storedMessages(chat)).map((r) => r.text)).to.deep.equal([text]);
    });
  });

  describe('GET /v1/chats/{chat_id}/messages (listMessages)', () => {
    let chatId: string;
    before(async () => {
      ({ chatId } = await chatWithMessages(3));
    });

    it('answers 401 auth-failed without a session', async () => {
      const answer = await t.history(t.api, chatId, { limit: 10 });
      expectError(answer, 401, 'auth-failed');
    });

    it('answers 400 bad-parameters naming limit when it is missing, -10, 0, 1001, abc or 1.5', async () => {
      for (const limit of [undefined, -10, 0, 1001, 'abc', 1.5]) {
        const answer = await readPage(owner, chatId, { limit } as never);
        expectError(answer, 400, 'bad-parameters', /limit/);
      }
    });

    it('answers 400 bad-parameters for an order other than asc or desc', async () => {
      expectError(
        await readPage(owner, chatId, { limit: 10, order: 'sideways' as never }),
        400,
        'bad-parameters',
        /order/,
      );
    });

    it('answers 400 bad-parameters for a from it did not issue', async () => {
      const forged = [
        forgedIterator({}),
        forgedIterator({ o: 'asc', s: -1 }),
        forgedIterator({ o: 'up', s: 1 }),
      ];
      for (const from of ['garbage', '!!!', ...forged]) {
        expectError(await readPage(owner, chatId, { limit: 1, from }), 400, 'bad-parameters', /from/);
      }
    });

    it('answers 400 bad-parameters for an iterator used with the other order', async () => {
      for (const [issued, used] of [
        ['asc', 'desc'],
        ['desc', 'asc'],
      ] as const) {
        const { data } = await readPage(owner, chatId, { limit: 1, order: issued });
        const answer = await readPage(owner, chatId, { limit: 1, order: used, from: data!.next!.iterator });
        expectError(answer, 400, 'bad-parameters', new RegExp(`order=${issued}`));
      }
    });

    it('answers 403 forbidden to a caller who is not a member', async () => {
      expectError(await readPage(stranger, chatId, { limit: 10 }), 403, 'forbidden', /not a member/);
    });

    it('answers 403 forbidden when ?user_id= names someone else', async () => {
      const answer = await readPage(owner, chatId, { limit: 10, user_id: member.userId });
      expectError(answer, 403, 'forbidden', /user_id/);
    });

    it('answers 404 chat-not-found for an unknown chat id and for a malformed one', async () => {
      for (const missing of MISSING_CHAT_IDS) {
        expectError(await readPage(owner, missing, { limit: 10 }), 404, 'chat-not-found', /no chat/);
      }
    });

    describe('answers exactly min(count, limit) messages', () => {
      const chats = new Map<number, string>();
      before(async () => {
        for (const count of [0, 5, 10]) chats.set(count, (await chatWithMessages(count)).chatId);
      });

      for (const count of [0, 5, 10]) {
        for (const limit of [5, 10]) {
          const expected = Math.min(count, limit);
          it(`answers ${expected} for ${count} messages and limit ${limit}, with next only when more remain`, async () => {
            const { data, response } = await readPage(owner, chats.get(count)!, { limit });
            expect(response.status).to.equal(200);
            expect(textsOf(data!.messages)).to.deep.equal(numbered(1, expected));
            expect(data!.next !== undefined, 'next present').to.equal(count > limit);
          });
        }
      }
    });

    it('reads seven messages with limit 5, then from gives exactly the last two and no next', async () => {
      const chat = (await chatWithMessages(7)).chatId;
      const first = await readPage(owner, chat, { limit: 5 });
      expect(textsOf(first.data!.messages)).to.deep.equal(numbered(1, 5));
      expect(first.data!.next!.iterator).to.be.a('string');

      const second = await readPage(owner, chat, { limit: 5, from: first.data!.next!.iterator });
      expect(second.data).to.have.property('messages').with.length(2);
      expect(textsOf(second.data!.messages)).to.deep.equal(['m6', 'm7']);
      expect(second.data).to.not.have.property('next');
    });

    it('reads oldest first by default, and newest first with order=desc, paging backwards', async () => {
      const chat = (await chatWithMessages(7)).chatId;
      const oldestFirst = await readAll(chat, 3);
      expect(oldestFirst.map(textsOf)).to.deep.equal([numbered(1, 3), numbered(4, 6), ['m7']]);
      expect((await readAll(chat, 3, { order: 'asc' })).map(textsOf)).to.deep.equal(oldestFirst.map(textsOf));

      const newestFirst = await readAll(chat, 3, { order: 'desc' });
      expect(newestFirst.map(textsOf)).to.deep.equal([['m7', 'm6', 'm5'], ['m4', 'm3', 'm2'], ['m1']]);
    });

    it('never repeats or skips a message while new ones arrive between pages', async () => {
      const chat = (await chatWithMessages(5)).chatId;
      const first = await readPage(owner, chat, { limit: 3 });
      const arrivedIds = await postAll(chat, numbered(6, 9));

      const rest = await readAll(chat, 3, { from: first.data!.next!.iterator });
      const seen = [first.data!.messages, ...rest].flat();
      expect(textsOf(seen)).to.deep.equal(numbered(1, 9));
      expect(seen.slice(5).map((m) => m.message_id)).to.deep.equal(arrivedIds);
    });

    it('answers each message with its id, chat, author id and name, text and time', async () => {
      const chat = (await chatWithMessages(0)).chatId;
      const before = Date.now();
      const ownerMessage = await t.post(owner, chat, 'from the owner');
      const memberMessage = await t.post(member, chat, 'from a member');

      const { data } = await readPage(member, chat, { limit: 10 });
      const item = (message_id: string, user: TestUser, text: string) => ({
        message_id,
        chat_id: chat,
        user_id: user.userId,
        user_name: user.userName,
        text,
        edited_at: null,
        attachments: [],
        reply_to: null,
        reply_count: 0,
        last_reply_at: null,
        reactions: [],
        mentions: [],
      });
      expect(data!.messages.map(({ created_at: _, ...rest }) => rest)).to.deep.equal([
        item(ownerMessage, owner, 'from the owner'),
        item(memberMessage, member, 'from a member'),
      ]);
      for (const { created_at } of data!.messages) {
        expect(Date.parse(created_at)).to.be.within(before - 5_000, Date.now() + 5_000);
      }
    });

    it('keeps unicode and emoji text intact through a round trip', async () => {
      const chat = (await chatWithMessages(0)).chatId;
      const texts = [
        'Привет, мир',
        '你好，世界',
        'مرحبا',
        '👋🏽 family: 👨‍👩‍👧‍👦 flag: 🇺🇦',
        'e\u0301 vs é',
        'tab\tand\nnewline',
      ];
      await postAll(chat, texts);
      expect(textsOf((await readPage(owner, chat, { limit: 10 })).data!.messages)).to.deep.equal(texts);
      expect((await storedMessages(chat)).map((r) => r.text)).to.deep.equal(texts);
    });
  });
});
