import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { directKeyOf } from '../src/chats/chats.repository.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';

describe('direct messages', function () {
  this.timeout(60_000);
  let t: TestContext;
  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  const send = (from: TestUser | undefined, user_name: string, message: string) =>
    (from?.api ?? t.api).POST('/v1/direct/{user_name}/messages', {
      params: { path: { user_name } },
      body: { message },
    });

  const read = (
    user: TestUser | undefined,
    user_name: string,
    query: { limit: number; from?: string; order?: 'asc' | 'desc' },
  ) =>
    (user?.api ?? t.api).GET('/v1/direct/{user_name}/messages', { params: { path: { user_name }, query } });

  /** Every direct chat of the pair, with its members. */
  async function directChats(a: TestUser, b: TestUser) {
    const chats = await t.database.db
      .selectFrom('chats')
      .select(['id', 'kind', 'chat_name', 'direct_key'])
      .where('direct_key', '=', directKeyOf(a.userId, b.userId))
      .execute();
    return Promise.all(
      chats.map(async (chat) => ({
        ...chat,
        members: await t.database.db
          .selectFrom('chat_members')
          .select(['user_id', 'role'])
          .where('chat_id', '=', chat.id)
          .orderBy('user_id')
          .execute(),
      })),
    );
  }

  describe('POST /v1/direct/{user_name}/messages (postDirectMessage)', () => {
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      [alice, bob] = await t.registerUsers('alice', 'bob');
    });

    it('answers 401 auth-failed without a session, and creates nothing', async () => {
      expectError(await send(undefined, bob.userName, 'hi'), 401, 'auth-failed');
      expect(await directChats(alice, bob)).to.deep.equal([]);
    });

    it('answers 400 bad-parameters for a missing, empty or non-string message', async () => {
      for (const body of [{}, { message: '' }, { message: 42 }]) {
        const answer = await alice.api.POST('/v1/direct/{user_name}/messages', {
          params: { path: { user_name: bob.userName } },
          body: body as never,
        });
        expectError(answer, 400, 'bad-parameters', /message/);
      }
    });

    it('answers 400 bad-parameters for a message to yourself, and creates nothing', async () => {
      expectError(await send(alice, alice.userName, 'note to self'), 400, 'bad-parameters', /you/);
      expect(await directChats(alice, alice)).to.deep.equal([]);
    });

    it('answers 404 user-not-found for a name with no account', async () => {
      const ghost = uniqueName('ghost');
      expectError(await send(alice, ghost, 'hello?'), 404, 'user-not-found', new RegExp(ghost));
    });

    it('creates the direct chat with the first message, then reuses it from either side', async () => {
      const [carol, dave] = await t.registerUsers('carol', 'dave');
      const first = await send(carol, dave.userName, 'hi dave');
      expect(first.response.status).to.equal(201);
      const chatId = first.data!.chat_id;
      const second = await send(carol, dave.userName, 'are you there?');
      const reply = await send(dave, carol.userName, 'yes!');
      expect([second.data!.chat_id, reply.data!.chat_id]).to.deep.equal([chatId, chatId]);

      const chats = await directChats(carol, dave);
      expect(chats).to.have.length(1);
      expect(chats[0]).to.deep.include({ id: chatId, kind: 'direct' });
      expect(chats[0]!.chat_name).to.equal([carol.userName, dave.userName].sort().join(' & '));
      expect(chats[0]!.members).to.deep.equal(
        [carol, dave]
          .map((u) => ({ user_id: u.userId, role: 'owner' }))
          .sort((a, b) => a.user_id.localeCompare(b.user_id)),
      );
      const stored = await t.database.db
        .selectFrom('messages')
        .select(['id', 'user_id', 'text'])
        .where('chat_id', '=', chatId)
        .orderBy('seq')
        .execute();
      expect(stored).to.deep.equal([
        { id: first.data!.message_id, user_id: carol.userId, text: 'hi dave' },
        { id: second.data!.message_id, user_id: carol.userId, text: 'are you there?' },
        { id: reply.data!.message_id, user_id: dave.userId, text: 'yes!' },
      ]);
      // Both see it in their chat list, as a direct chat of two.
      for (const user of [carol, dave]) {
        const { data } = await user.api.GET('/v1/chats', { params: { query: { limit: 10 } } });
        expect(data!.chats[0]).to.deep.include({ chat_id: chatId, kind: 'direct', member_count: 2 });
        expect(data!.chats[0]!.last_message).to.deep.include({ text: 'yes!', user_id: dave.userId });
      }
    });

    it('never makes two direct chats for a pair, even when both send their first message at once', async () => {
      for (let round = 0; round < 6; round++) {
        const [a, b] = await t.registerUsers('a', 'b');
        const answers = await Promise.all([
          send(a, b.userName, 'hi from a'),
          send(b, a.userName, 'hi from b'),
          send(a, b.userName, 'again from a'),
          send(b, a.userName, 'again from b'),
        ]);
        expect(answers.map((x) => x.response.status)).to.deep.equal([201, 201, 201, 201]);
        expect(new Set(answers.map((x) => x.data!.chat_id)).size).to.equal(1);
        const chats = await directChats(a, b);
        expect(chats).to.have.length(1);
        expect(chats[0]!.members).to.have.length(2);
        const { data } = await read(a, b.userName, { limit: 10 });
        expect(data!.messages).to.have.length(4);
      }
    });

    it('replays a retry with the same Idempotency-Key (same ids, nothing new stored); another body is 409', async () => {
      const [jo, kim] = await t.registerUsers('jo', 'kim');
      const key = randomUUID();
      const sendKeyed = (message: string) =>
        t.raw('POST', `/v1/direct/${kim.userName}/messages`, {
          headers: {
            authorization: `session_id ${jo.token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify({ message }),
        });
      const first = await sendKeyed('only once');
      const again = await sendKeyed('only once');
      expect([first.status, again.status]).to.deep.equal([201, 201]);
      expect(again.json).to.deep.equal(first.json);
      expectError(await sendKeyed('something else'), 409, 'idempotency-key-reused');
      const { data } = await read(jo, kim.userName, { limit: 10 });
      expect(data!.messages.map((m) => m.text)).to.deep.equal(['only once']);
    });

    it('refuses to add a third person to a direct chat, or to remove one of the two', async () => {
      const [erin, frank, gina] = await t.registerUsers('erin', 'frank', 'gina');
      const chatId = (await send(erin, frank.userName, 'hello')).data!.chat_id;
      const added = await erin.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chatId } },
        body: { user_name: gina.userName },
      });
      expectError(added, 403, 'forbidden', /direct/);
      for (const user of [erin, frank]) {
        const removed = await erin.api.DELETE('/v1/chats/{chat_id}/users/{user_id}', {
          params: { path: { chat_id: chatId, user_id: user.userId } },
        });
        expectError(removed, 403, 'forbidden', /direct/);
      }
      expect((await directChats(erin, frank))[0]!.members).to.have.length(2);
    });

    it('starts a new direct chat after either participant deletes the old one', async () => {
      const [hank, ivy] = await t.registerUsers('hank', 'ivy');
      const old = (await send(hank, ivy.userName, 'first')).data!.chat_id;
      const deleted = await ivy.api.DELETE('/v1/chats/{chat_id}', { params: { path: { chat_id: old } } });
      expect(deleted.response.status).to.equal(204);
      expect((await read(hank, ivy.userName, { limit: 10 })).data!.messages).to.deep.equal([]);
      const fresh = (await send(hank, ivy.userName, 'second')).data!.chat_id;
      expect(fresh).to.not.equal(old);
      expect((await directChats(hank, ivy)).map((c) => c.id)).to.deep.equal([fresh]);
    });
  });

  describe('GET /v1/direct/{user_name}/messages (listDirectMessages)', () => {
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      [alice, bob] = await t.registerUsers('alice', 'bob');
    });

    it('answers 401 auth-failed without a session', async () => {
      expectError(await read(undefined, bob.userName, { limit: 10 }), 401, 'auth-failed');
    });

    it('answers 400 bad-parameters for a bad limit, a foreign from, or yourself', async () => {
      expectError(await read(alice, bob.userName, { limit: 0 }), 400, 'bad-parameters', /limit/);
      await send(alice, bob.userName, 'so there is a chat');
      expectError(
        await read(alice, bob.userName, { limit: 10, from: 'garbage' }),
        400,
        'bad-parameters',
        /from/,
      );
      expectError(await read(alice, alice.userName, { limit: 10 }), 400, 'bad-parameters', /you/);
    });

    it('answers 404 user-not-found for a name with no account', async () => {
      expectError(await read(alice, uniqueName('ghost'), { limit: 10 }), 404, 'user-not-found');
    });

    it('answers an empty page while the two have never written to each other', async () => {
      const carol = await t.registerUser('carol');
      const { data, response } = await read(alice, carol.userName, { limit: 10 });
      expect(response.status).to.equal(200);
      expect(data).to.deep.equal({ messages: [] });
    });

    it('pages the conversation like any chat, in both orders, for both participants', async () => {
      const [carol, dave] = await t.registerUsers('carol', 'dave');
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) {
        const [from, to] = i % 2 ? [carol, dave] : [dave, carol];
        ids.push((await send(from, to.userName, `m${i}`)).data!.message_id);
      }
      for (const [reader, peer] of [
        [carol, dave],
        [dave, carol],
      ] as const) {
        const seen: string[] = [];
        let from: string | undefined;
        do {
          const { data } = await read(reader, peer.userName, { limit: 2, from });
          seen.push(...data!.messages.map((m) => m.message_id));
          from = data!.next?.iterator;
        } while (from !== undefined && seen.length < 20);
        expect(seen).to.deep.equal(ids);
      }
      const newest = await read(carol, dave.userName, { limit: 2, order: 'desc' });
      expect(newest.data!.messages.map((m) => m.text)).to.deep.equal(['m5', 'm4']);
      expect(newest.data!.messages[0]).to.deep.include({ user_id: carol.userId, user_name: carol.userName });
    });

    it("shows nobody else's conversation: a third user reads only their own (empty) one", async () => {
      const [carol, dave, eve] = await t.registerUsers('carol', 'dave', 'eve');
      const chatId = (await send(carol, dave.userName, 'private')).data!.chat_id;
      expect((await read(eve, dave.userName, { limit: 10 })).data!.messages).to.deep.equal([]);
      const direct = await t.history(eve, chatId, { limit: 10 });
      expectError(direct, 403, 'forbidden');
    });
  });

  describe('with AUTH_DISABLED=true', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it('the sender and reader is ?user_id= (required); an unknown user is 404', async () => {
      const chat = (await legacy.api.POST('/v1/chats', { body: { chat_name: 'legacy' } })).data!.chat_id;
      const names = [uniqueName('ann'), uniqueName('ben')];
      const [ann, ben] = await Promise.all(
        names.map(async (user_name) => {
          const { data } = await legacy.api.POST('/v1/chats/{chat_id}/users', {
            params: { path: { chat_id: chat } },
            body: { user_name },
          });
          return data!.user_id;
        }),
      );
      const post = (user_id: string | undefined, to: string) =>
        legacy.api.POST('/v1/direct/{user_name}/messages', {
          params: { path: { user_name: to }, query: { user_id } },
          body: { message: 'hello' },
        });
      expectError(await post(undefined, names[1]!), 400, 'bad-parameters', /user_id/);
      expectError(await post(randomUUID(), names[1]!), 404, 'user-not-found');
      expectError(await post(ann, uniqueName('ghost')), 404, 'user-not-found');
      const sent = await post(ann, names[1]!);
      expect(sent.response.status).to.equal(201);
      const page = await legacy.api.GET('/v1/direct/{user_name}/messages', {
        params: { path: { user_name: names[0]! }, query: { user_id: ben, limit: 10 } },
      });
      expect(page.data!.messages.map((m) => [m.message_id, m.user_id])).to.deep.equal([
        [sent.data!.message_id, ann],
      ]);
    });
  });
});
