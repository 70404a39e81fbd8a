/**
 * AUTH_DISABLED=true: the original Messenger API's trust-the-client mode, as its old clients and
 * test harness use it. No session anywhere; `?user_id=` names the caller.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { components } from '../src/generated/openapi.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

type Message = components['schemas']['Message'];

/** Ids of a chat that does not exist and of one that could not exist. */
const MISSING_CHAT_IDS = [randomUUID(), 'random_chat'];
/** Ids of a user who does not exist and of one who could not exist. */
const MISSING_USER_IDS = [randomUUID(), 'random_user'];

const textsOf = (messages: Message[]) => messages.map((m) => m.text);

describe('AUTH_DISABLED=true (the original API, no sessions)', () => {
  let t: TestContext;
  before(async () => {
    t = await TestContext.start({ AUTH_DISABLED: 'true' });
  });
  after(() => t.stop());

  const createChat = (chat_name: string, user_id?: string) =>
    t.api.POST('/v1/chats', { params: { query: { user_id } }, body: { chat_name } });

  async function newChat(): Promise<string> {
    const { data, response } = await createChat(uniqueName('chat'));
    expect(response.status).to.equal(201);
    return data!.chat_id;
  }

  const addUser = (chat_id: string, user_name: string, user_id?: string) =>
    t.api.POST('/v1/chats/{chat_id}/users', {
      params: { path: { chat_id }, query: { user_id } },
      body: { user_name },
    });

  async function addNewUser(chatId: string): Promise<string> {
    const { data, response } = await addUser(chatId, uniqueName('user'));
    expect(response.status).to.equal(201);
    return data!.user_id;
  }

  const post = (chat_id: string, message: string, user_id?: string) =>
    t.api.POST('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id }, query: { user_id } },
      body: { message },
    });

  const read = (chat_id: string, query: { limit: number; from?: string; user_id?: string }) =>
    t.history(t.api, chat_id, query);

  it("takes the course suite's posts to …/messages?chat_id=&user_id= (an extra parameter is ignored)", async () => {
    const chatId = await newChat();
    const userId = await addNewUser(chatId);
    for (let i = 1; i <= 5; i++) {
      const res = await t.raw('POST', `/v1/chats/${chatId}/messages?chat_id=${chatId}&user_id=${userId}`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: `m${i}` }),
      });
      expect(res.status).to.equal(201);
    }
    const { data } = await read(chatId, { limit: 3, user_id: userId });
    expect(textsOf(data!.messages)).to.deep.equal(['m1', 'm2', 'm3']);
    expect(data!.next?.iterator).to.be.a('string');
  });

  /** A chat with one member, who posted messages m1 … m`count`. */
  async function chatWithMessages(count: number): Promise<{ chatId: string; userId: string }> {
    const chatId = await newChat();
    const userId = await addNewUser(chatId);
    for (let i = 1; i <= count; i++)
      expect((await post(chatId, `m${i}`, userId)).response.status).to.equal(201);
    return { chatId, userId };
  }

  const members = (chatId: string) => t.membersOf(chatId);

  const usersNamed = (userName: string) =>
    t.database.db
      .selectFrom('users')
      .select(['id', 'password_hash'])
      .where('user_name', '=', userName)
      .execute();

  describe('POST /v1/chats (createChat)', () => {
    it('answers 201 without a session or user_id, and the chat starts with no members', async () => {
      const chatName = uniqueName('legacy');
      const { data, response } = await createChat(chatName);
      expect(response.status).to.equal(201);
      const chat = await t.database.db
        .selectFrom('chats')
        .select(['chat_name', 'created_by'])
        .where('id', '=', data!.chat_id)
        .executeTakeFirst();
      expect(chat).to.deep.equal({ chat_name: chatName, created_by: null });
      expect(await members(data!.chat_id)).to.deep.equal([]);
    });

    it('gives two chats with the same name two different ids', async () => {
      const chatName = uniqueName('twins');
      const [first, second] = [await createChat(chatName), await createChat(chatName)];
      expect(first.data!.chat_id).to.not.equal(second.data!.chat_id);
    });

    it('makes the user that user_id names the owner', async () => {
      const userId = await addNewUser(await newChat());
      const { data } = await createChat(uniqueName('owned'), userId);
      expect(await members(data!.chat_id)).to.deep.equal([{ user_id: userId, role: 'owner' }]);
    });

    it('answers 404 user-not-found for a user_id that names nobody', async () => {
      for (const userId of MISSING_USER_IDS) {
        expectError(await createChat(uniqueName('orphan'), userId), 404, 'user-not-found', /no user/);
      }
    });

    it('still answers 400 bad-parameters for a missing chat_name', async () => {
      const answer = await t.api.POST('/v1/chats', { body: {} as never });
      expectError(answer, 400, 'bad-parameters', /chat_name/);
    });
  });

  describe('GET /v1/chats (listChats)', () => {
    it('answers 400 bad-parameters without a user_id, and the chats of the user it names', async () => {
      expectError(
        await t.api.GET('/v1/chats', { params: { query: { limit: 10 } } }),
        400,
        'bad-parameters',
        /user_id/,
      );
      const chatId = await newChat();
      const userId = await addNewUser(chatId);
      const { data } = await t.api.GET('/v1/chats', { params: { query: { limit: 10, user_id: userId } } });
      expect(data!.chats.map((c) => c.chat_id)).to.deep.equal([chatId]);
    });
  });

  describe('POST /v1/chats/{chat_id}/users (addChatUser)', () => {
    it('creates a user for an unknown name, with no password, who therefore cannot log in', async () => {
      const chatId = await newChat();
      const userName = uniqueName('newcomer');
      const { data, response } = await addUser(chatId, userName);
      expect(response.status).to.equal(201);
      expect(await usersNamed(userName)).to.deep.equal([{ id: data!.user_id, password_hash: null }]);
      expect(await members(chatId)).to.deep.equal([{ user_id: data!.user_id, role: 'member' }]);

      const login = await t.api.POST('/v1/auth/login', {
        body: { user_name: userName, password: 'any password at all' },
      });
      expectError(login, 401, 'auth-failed');
    });

    it('answers 201 with the same user_id when the user is added twice, and keeps one user and one membership', async () => {
      const chatId = await newChat();
      const userName = uniqueName('twice');
      const [first, second] = [await addUser(chatId, userName), await addUser(chatId, userName)];
      expect([first.response.status, second.response.status]).to.deep.equal([201, 201]);
      expect(second.data).to.deep.equal(first.data);
      expect(await usersNamed(userName)).to.have.length(1);
      expect(await members(chatId)).to.deep.equal([{ user_id: first.data!.user_id, role: 'member' }]);
    });

    it('answers the id of a registered user added by name', async () => {
      const userName = uniqueName('registered');
      const registered = await t.api.POST('/v1/auth/register', {
        body: { user_name: userName, password: 'a long enough password' },
      });
      const { data } = await addUser(await newChat(), userName);
      expect(data).to.deep.equal({ user_id: registered.data!.user_id });
    });

    it('answers 404 user-not-found when a user_id is given and names no member of the chat', async () => {
      const chatId = await newChat();
      const outsider = await addNewUser(await newChat());
      const userName = uniqueName('invitee');
      for (const userId of [outsider, ...MISSING_USER_IDS]) {
        expectError(await addUser(chatId, userName, userId), 404, 'user-not-found');
      }
      expect(await members(chatId)).to.deep.equal([]);
      const member = await addNewUser(chatId);
      expect((await addUser(chatId, userName, member)).response.status).to.equal(201);
    });

    it('answers 404 chat-not-found for an unknown chat id and for a malformed one', async () => {
      for (const chatId of MISSING_CHAT_IDS) {
        expectError(await addUser(chatId, uniqueName('lost')), 404, 'chat-not-found', /no chat/);
      }
    });
  });

  describe('POST /v1/chats/{chat_id}/messages (postMessage)', () => {
    let chatId: string;
    let memberId: string;
    before(async () => {
      chatId = await newChat();
      memberId = await addNewUser(chatId);
    });

    const stored = (chat: string) =>
      t.database.db
        .selectFrom('messages')
        .select(['id', 'user_id', 'text'])
        .where('chat_id', '=', chat)
        .execute();

    it("answers 201 for a member's user_id and stores the message as theirs", async () => {
      const chat = await newChat();
      const userId = await addNewUser(chat);
      const { data, response } = await post(chat, 'hello, old client', userId);
      expect(response.status).to.equal(201);
      expect(await stored(chat)).to.deep.equal([
        { id: data!.message_id, user_id: userId, text: 'hello, old client' },
      ]);
    });

    it('answers 400 bad-parameters without a user_id', async () => {
      expectError(await post(chatId, 'who am I?'), 400, 'bad-parameters', /user_id/);
    });

    it('answers 404 user-not-found for an unknown or malformed user_id', async () => {
      for (const userId of MISSING_USER_IDS) {
        expectError(await post(chatId, 'ghost', userId), 404, 'user-not-found', /no user/);
      }
    });

    it('answers 404 user-not-found for a user who exists but is not a member', async () => {
      const outsider = await addNewUser(await newChat());
      expectError(await post(chatId, 'let me in', outsider), 404, 'user-not-found', /not a member/);
      expect((await stored(chatId)).map((m) => m.user_id)).to.not.include(outsider);
    });

    it('answers 404 chat-not-found for an unknown chat id and for a malformed one', async () => {
      for (const chat of MISSING_CHAT_IDS) {
        expectError(await post(chat, 'anyone there?', memberId), 404, 'chat-not-found', /no chat/);
      }
    });
  });

  describe('GET /v1/chats/{chat_id}/messages (listMessages)', () => {
    let chatId: string;
    let memberId: string;
    before(async () => {
      ({ chatId, userId: memberId } = await chatWithMessages(3));
    });

    it('answers 200 with the history to anyone, without a user_id', async () => {
      const { data, response } = await read(chatId, { limit: 10 });
      expect(response.status).to.equal(200);
      expect(textsOf(data!.messages)).to.deep.equal(['m1', 'm2', 'm3']);
      expect(data!.messages.map((m) => m.user_id)).to.deep.equal([memberId, memberId, memberId]);
    });

    it("answers 200 for a member's user_id, and 404 user-not-found for anyone else's", async () => {
      const { data } = await read(chatId, { limit: 10, user_id: memberId });
      expect(textsOf(data!.messages)).to.deep.equal(['m1', 'm2', 'm3']);
      const outsider = await addNewUser(await newChat());
      for (const userId of [outsider, ...MISSING_USER_IDS]) {
        expectError(await read(chatId, { limit: 10, user_id: userId }), 404, 'user-not-found');
      }
    });

    it('answers 400 bad-parameters when limit is missing, -10, 0, 1001 or abc', async () => {
      for (const limit of [undefined, -10, 0, 1001, 'abc']) {
        expectError(await read(chatId, { limit } as never), 400, 'bad-parameters', /limit/);
      }
    });

    it('reads seven messages with limit 5, then from gives exactly the last two and no next', async () => {
      const chat = (await chatWithMessages(7)).chatId;
      const first = await read(chat, { limit: 5 });
      expect(textsOf(first.data!.messages)).to.deep.equal(['m1', 'm2', 'm3', 'm4', 'm5']);
      const second = await read(chat, { limit: 5, from: first.data!.next!.iterator });
      expect(textsOf(second.data!.messages)).to.deep.equal(['m6', 'm7']);
      expect(second.data).to.not.have.property('next');
    });

    it('answers 404 chat-not-found for an unknown chat id and for a malformed one', async () => {
      for (const chat of MISSING_CHAT_IDS) {
        expectError(await read(chat, { limit: 10 }), 404, 'chat-not-found', /no chat/);
      }
    });
  });
});
