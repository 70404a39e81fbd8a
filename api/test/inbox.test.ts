import { expect } from 'chai';
import { sql } from 'kysely';
import { InboxRepository } from '../src/inbox/inbox.repository.ts';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';
import { expectError } from './support/expect-error.ts';

const DAY_MS = 24 * 3600 * 1000;

describe('inbox: GET /v1/messages/recent', () => {
  let t: TestContext;
  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  const inbox = (user: TestUser, query: { sender?: string; limit?: number } = {}) =>
    user.api.GET('/v1/messages/recent', { params: { query } });
  const texts = (answer: Awaited<ReturnType<typeof inbox>>) => answer.data!.messages.map((m) => m.text);

  it('answers 401 without a session', async () => {
    expectError(await t.api.GET('/v1/messages/recent', { params: { query: {} } }), 401, 'auth-failed');
  });

  it('answers 400 for a limit out of range and 403 for a user_id that is not the caller', async () => {
    const [alice, bob] = await t.registerUsers('inbox', 'inbox');
    expectError(await inbox(alice, { limit: 0 }), 400, 'bad-parameters', /limit/);
    expectError(await inbox(alice, { limit: 1001 }), 400, 'bad-parameters', /limit/);
    expectError(
      await alice.api.GET('/v1/messages/recent', { params: { query: { user_id: bob.userId } } }),
      403,
      'forbidden',
    );
  });

  it('answers 404 user-not-found for a sender no one is named', async () => {
    const alice = await t.registerUser('inbox');
    expectError(await inbox(alice, { sender: uniqueName('ghost') }), 404, 'user-not-found', /ghost/);
  });

  describe('with messages in several chats', () => {
    let alice: TestUser, bob: TestUser, carol: TestUser;
    let withBob: string, withCarol: string;

    before(async () => {
      [alice, bob, carol] = await t.registerUsers('a', 'b', 'c');
      withBob = await t.createChat(alice, 'with bob');
      await t.addMember(alice, withBob, bob);
      withCarol = await t.createChat(carol, 'with carol');
      await t.addMember(carol, withCarol, alice);
      const notAlices = await t.chatWith(bob, carol);

      await t.post(bob, withBob, 'b1');
      await t.post(alice, withBob, 'a1 (mine)');
      await t.post(carol, withCarol, 'c1');
      await t.post(bob, notAlices, 'not for alice');
      await t.post(bob, withBob, 'b2');
    });

    it("answers what others sent in the caller's chats, newest first, never the caller's own", async () => {
      const answer = await inbox(alice);
      expect(answer.response.status).to.equal(200);
      expect(texts(answer)).to.deep.equal(['b2', 'c1', 'b1']);
      expect(answer.data!.messages[1]).to.include({
        chat_id: withCarol,
        chat_name: 'with carol',
        user_id: carol.userId,
        user_name: carol.userName,
      });
      // Bob sees alice's message, and the one in the chat alice is not in is carol's, not alice's.
      expect(texts(await inbox(bob))).to.deep.equal(['a1 (mine)']);
      expect(texts(await inbox(carol))).to.deep.equal(['not for alice']);
    });

    it('narrows to one sender; naming oneself gives nothing', async () => {
      expect(texts(await inbox(alice, { sender: bob.userName }))).to.deep.equal(['b2', 'b1']);
      expect(texts(await inbox(alice, { sender: carol.userName }))).to.deep.equal(['c1']);
      expect(texts(await inbox(alice, { sender: alice.userName }))).to.deep.equal([]);
    });

    it('honours limit', async () => {
      expect(texts(await inbox(alice, { limit: 2 }))).to.deep.equal(['b2', 'c1']);
    });

    it(`shows only the last INBOX_MAX_AGE_DAYS days`, async () => {
      const chat = await t.chatWith(alice, bob);
      const days = t.config.inbox.maxAgeDays;
      await t.database.db
        .insertInto('messages')
        .values([
          {
            chat_id: chat,
            seq: 1001,
            user_id: bob.userId,
            text: 'old',
            created_at: new Date(Date.now() - (days + 1) * DAY_MS),
          },
          {
            chat_id: chat,
            seq: 1002,
            user_id: bob.userId,
            text: 'oldish',
            created_at: new Date(Date.now() - (days - 1) * DAY_MS),
          },
        ])
        .execute();
      expect(texts(await inbox(alice))).to.deep.equal(['b2', 'c1', 'b1', 'oldish']);
      expect(texts(await inbox(alice, { sender: bob.userName }))).to.deep.equal(['b2', 'b1', 'oldish']);
    });

    it('stops answering a chat the caller has left', async () => {
      const dave = await t.registerUser('d');
      const chat = await t.chatWith(dave, alice);
      await t.post(dave, chat, 'from dave');
      expect(texts(await inbox(alice, { sender: dave.userName }))).to.deep.equal(['from dave']);
      await t.database.db
        .deleteFrom('chat_members')
        .where('chat_id', '=', chat)
        .where('user_id', '=', alice.userId)
        .execute();
      expect(texts(await inbox(alice, { sender: dave.userName }))).to.deep.equal([]);
    });

    it('scans each chat through the (chat_id, created_at) index', async () => {
      const plan = await t.database.db.transaction().execute(async (trx) => {
        // Test tables are small enough for a sequential scan to win: ask whether the index CAN serve it.
        await sql`set local enable_seqscan = off`.execute(trx);
        return new InboxRepository(trx).planOfRecent({
          userId: alice.userId,
          since: new Date(Date.now() - 30 * DAY_MS),
          limit: 100,
        });
      });
      expect(plan).to.contain('messages_chat_id_created_at_idx');
      expect(plan).to.not.match(/Seq Scan on messages/);
    });
  });

  describe('INBOX_MAX_RESULTS', () => {
    let capped: TestContext;
    before(async () => {
      capped = await TestContext.start({ INBOX_MAX_RESULTS: '3' });
    });
    after(() => capped.stop());

    it('caps the answer, whatever limit asks for', async () => {
      const alice = await capped.registerUser('cap');
      const bob = await capped.registerUser('cap');
      const chat = await capped.chatWith(alice, bob);
      for (let i = 1; i <= 5; i++) await capped.post(bob, chat, `m${i}`);
      const get = async (query: { limit?: number }) =>
        (await alice.api.GET('/v1/messages/recent', { params: { query } })).data!.messages.map((m) => m.text);
      expect(await get({})).to.deep.equal(['m5', 'm4', 'm3']);
      expect(await get({ limit: 50 })).to.deep.equal(['m5', 'm4', 'm3']);
      expect(await get({ limit: 2 })).to.deep.equal(['m5', 'm4']);
    });
  });

  describe('with AUTH_DISABLED=true', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it("needs user_id (400), naming a user (404), and answers that user's inbox", async () => {
      const [alice, bob] = await t.registerUsers('l', 'l');
      const chat = await t.chatWith(alice, bob);
      await t.post(bob, chat, 'hello alice');
      expectError(
        await legacy.api.GET('/v1/messages/recent', { params: { query: {} } }),
        400,
        'bad-parameters',
      );
      expectError(
        await legacy.api.GET('/v1/messages/recent', { params: { query: { user_id: 'nobody' } } }),
        404,
        'user-not-found',
      );
      const { data } = await legacy.api.GET('/v1/messages/recent', {
        params: { query: { user_id: alice.userId } },
      });
      expect(data!.messages.map((m) => m.text)).to.deep.equal(['hello alice']);
    });
  });
});
