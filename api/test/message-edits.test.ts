import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { expectError } from './support/expect-error.ts';
import { search } from './support/search.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

describe('message edits and deletes', function () {
  this.timeout(60_000);
  let t: TestContext;
  let owner: TestUser;
  let author: TestUser;
  let stranger: TestUser;
  before(async () => {
    t = await TestContext.start();
    [owner, author, stranger] = await t.registerUsers('owner', 'author', 'stranger');
  });
  after(() => t.stop());

  /** A chat of `owner` with `author` in it, and one message by `author`. */
  async function chatWithMessage(text = 'original text'): Promise<{ chatId: string; messageId: string }> {
    const chatId = await t.chatWith(owner, author);
    return { chatId, messageId: await t.post(author, chatId, text) };
  }

  const edit = (user: TestUser | undefined, chat_id: string, message_id: string, body: unknown) =>
    (user?.api ?? t.api).PATCH('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id, message_id } },
      body: body as never,
    });
  const remove = (user: TestUser | undefined, chat_id: string, message_id: string) =>
    (user?.api ?? t.api).DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
      params: { path: { chat_id, message_id } },
    });
  const history = async (user: TestUser, chat_id: string) => {
    const { data, response } = await t.history(user, chat_id);
    expect(response.status).to.equal(200);
    return data!.messages;
  };
  const stored = (messageId: string) =>
    t.database.db
      .selectFrom('messages')
      .select(['text', 'edited_at'])
      .where('id', '=', messageId)
      .executeTakeFirst();

  describe('PATCH /v1/chats/{chat_id}/messages/{message_id} (editMessage)', () => {
    it('answers 401 auth-failed without a session, and changes nothing', async () => {
      const { chatId, messageId } = await chatWithMessage();
      expectError(await edit(undefined, chatId, messageId, { message: 'x' }), 401, 'auth-failed');
      expect(await stored(messageId)).to.deep.equal({ text: 'original text', edited_at: null });
    });

    it('answers 400 bad-parameters naming message when it is missing, empty, not a string or too long', async () => {
      const { chatId, messageId } = await chatWithMessage();
      for (const body of [{}, { message: '' }, { message: 42 }, { message: 'x'.repeat(10_001) }]) {
        expectError(await edit(author, chatId, messageId, body), 400, 'bad-parameters', /message/);
      }
      expect((await stored(messageId))!.text).to.equal('original text');
    });

    it('answers 403 forbidden to a member who is not the author (even the owner) and to a stranger', async () => {
      const { chatId, messageId } = await chatWithMessage();
      expectError(await edit(owner, chatId, messageId, { message: 'x' }), 403, 'forbidden', /author/);
      expectError(await edit(stranger, chatId, messageId, { message: 'x' }), 403, 'forbidden', /member/);
      expect(await stored(messageId)).to.deep.equal({ text: 'original text', edited_at: null });
    });

    it('answers 404 for an unknown or malformed chat, and for an unknown, malformed or other chat message', async () => {
      const { chatId, messageId } = await chatWithMessage();
      const other = await chatWithMessage();
      for (const chat of [randomUUID(), 'random_chat']) {
        expectError(await edit(author, chat, messageId, { message: 'x' }), 404, 'chat-not-found');
      }
      for (const message of [randomUUID(), 'random_message', other.messageId]) {
        expectError(await edit(author, chatId, message, { message: 'x' }), 404, 'message-not-found');
      }
      expect((await stored(other.messageId))!.text).to.equal('original text');
    });

    it('answers 200 with the edited message and its edited_at; history shows it, also after a cached read', async () => {
      const { chatId, messageId } = await chatWithMessage();
      const cached = await history(owner, chatId);
      expect(cached[0]).to.include({ text: 'original text', edited_at: null });

      const before = Date.now();
      const { data, response } = await edit(author, chatId, messageId, { message: 'edited text' });
      expect(response.status).to.equal(200);
      expect(data).to.include({
        message_id: messageId,
        chat_id: chatId,
        user_id: author.userId,
        user_name: author.userName,
        text: 'edited text',
      });
      expect(Date.parse(data!.edited_at!)).to.be.within(before - 5_000, Date.now() + 5_000);
      expect(data!.attachments).to.deep.equal([]);

      const [item] = await history(owner, chatId);
      expect(item).to.deep.equal(data);
      const row = await stored(messageId);
      expect(row!.text).to.equal('edited text');
      expect(row!.edited_at).to.be.an.instanceOf(Date);
    });

    it('makes search find the new text and no longer the old one', async () => {
      const oldWord = `zqold${randomUUID().slice(0, 8)}`;
      const newWord = `zqnew${randomUUID().slice(0, 8)}`;
      const { chatId, messageId } = await chatWithMessage(`before ${oldWord}`);
      expect((await search(author, oldWord)).map((h) => h.message_id)).to.deep.equal([messageId]);

      await edit(author, chatId, messageId, { message: `after ${newWord}` });
      const hits = await search(author, newWord);
      expect(hits.map((h) => [h.message_id, h.text])).to.deep.equal([[messageId, `after ${newWord}`]]);
      expect(await search(author, oldWord)).to.deep.equal([]);
    });
  });

  describe('DELETE /v1/chats/{chat_id}/messages/{message_id} (deleteMessage)', () => {
    it('answers 401 auth-failed without a session, and deletes nothing', async () => {
      const { chatId, messageId } = await chatWithMessage();
      expectError(await remove(undefined, chatId, messageId), 401, 'auth-failed');
      expect(await stored(messageId)).to.not.equal(undefined);
    });

    it('answers 403 forbidden to a member who is neither author nor owner, and to a stranger', async () => {
      const { chatId } = await chatWithMessage();
      const ownersMessage = await t.post(owner, chatId, 'the owner wrote this');
      expectError(await remove(author, chatId, ownersMessage), 403, 'forbidden', /author or an owner/);
      expectError(await remove(stranger, chatId, ownersMessage), 403, 'forbidden', /member/);
      expect(await stored(ownersMessage)).to.not.equal(undefined);
    });

    it('answers 404 for an unknown or malformed chat, and for an unknown, malformed or other chat message', async () => {
      const { chatId, messageId } = await chatWithMessage();
      const other = await chatWithMessage();
      for (const chat of [randomUUID(), 'random_chat']) {
        expectError(await remove(author, chat, messageId), 404, 'chat-not-found');
      }
      for (const message of [randomUUID(), 'random_message', other.messageId]) {
        expectError(await remove(author, chatId, message), 404, 'message-not-found');
      }
      expect(await stored(other.messageId)).to.not.equal(undefined);
    });

    it('lets the author delete: 204, gone from the database and from a history page read (and cached) before', async () => {
      const { chatId, messageId } = await chatWithMessage();
      const keep = await t.post(owner, chatId, 'stays');
      expect((await history(owner, chatId)).map((m) => m.message_id)).to.deep.equal([messageId, keep]);

      const { response } = await remove(author, chatId, messageId);
      expect(response.status).to.equal(204);
      expect(await stored(messageId)).to.equal(undefined);
      expect((await history(owner, chatId)).map((m) => m.message_id)).to.deep.equal([keep]);
      expectError(await remove(author, chatId, messageId), 404, 'message-not-found');
    });

    it("lets the chat's owner delete another member's message", async () => {
      const { chatId, messageId } = await chatWithMessage();
      expect((await remove(owner, chatId, messageId)).response.status).to.equal(204);
      expect(await history(author, chatId)).to.deep.equal([]);
    });

    it('makes search no longer find the message', async () => {
      const word = `zqdel${randomUUID().slice(0, 8)}`;
      const { chatId, messageId } = await chatWithMessage(`to be deleted ${word}`);
      expect((await search(author, word)).map((h) => h.message_id)).to.deep.equal([messageId]);
      await remove(author, chatId, messageId);
      expect(await search(author, word)).to.deep.equal([]);
    });
  });
});
