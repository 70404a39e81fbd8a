import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { expectError } from './support/expect-error.ts';
import { forgetKey, keyRows, sendWithKey, storeKeyOf } from './support/idempotency.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

// The protocol and the cleanup, driven directly on the real database: idempotency-protocol.test.ts.

describe('Idempotency-Key recorded in PostgreSQL', function () {
  this.timeout(60_000);
  let t: TestContext;
  let other: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  before(async () => {
    [t, other] = [await TestContext.start(), await TestContext.start()];
    [alice, bob, carol] = await t.registerUsers('alice', 'bob', 'carol');
  });
  after(async () => {
    await other.stop();
    await t.stop();
  });

  /** The three message-creating operations: where each posts, a body, and the chat it stored in. */
  const operations: Array<{
    name: string;
    target: () => Promise<{ path: string; chat?: string }>;
    body: (text: string) => unknown;
  }> = [
    {
      name: 'a message',
      target: async () => {
        const chat = await t.createChat(alice);
        return { path: `/v1/chats/${chat}/messages`, chat };
      },
      body: (text) => ({ message: text }),
    },
    {
      name: 'a batch',
      target: async () => {
        const chat = await t.createChat(alice);
        return { path: `/v1/chats/${chat}/messages/batch`, chat };
      },
      body: (text) => ({ messages: [{ message: text }, { message: `${text}, again` }] }),
    },
    {
      name: 'a direct message',
      // The direct chat is created by the first message: its id comes with the reply.
      target: async () => ({ path: `/v1/direct/${carol.userName}/messages` }),
      body: (text) => ({ message: text }),
    },
  ];

  for (const op of operations) {
    it(`replays ${op.name} from PostgreSQL after the store lost the key, storing nothing new, and refills the store`, async () => {
      const key = randomUUID();
      const scope = `u:${alice.userId}`;
      const { path, chat: given } = await op.target();
      const first = await sendWithKey(t, alice, key, path, op.body('lost and found'));
      expect(first.status).to.equal(201);
      const chat = given ?? (first.json as { chat_id: string }).chat_id;
      const stored = await t.messageCount(chat);
      expect(await keyRows(t, scope, key)).to.equal(1);

      expect(await forgetKey(t, scope, key)).to.equal(1);
      const again = await sendWithKey(other, alice, key, path, op.body('lost and found'));
      expect(again.status).to.equal(201);
      expect(again.json).to.deep.equal(first.json);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(await t.messageCount(chat)).to.equal(stored);
      // The next repeat is served by the store again.
      const entry = JSON.parse((await t.store.get(storeKeyOf(scope, key))) ?? 'null') as { state: string };
      expect(entry.state).to.equal('done');
    });

    it(`answers 409 idempotency-key-reused for ${op.name} with another body after the store lost the key`, async () => {
      const key = randomUUID();
      const scope = `u:${alice.userId}`;
      const { path, chat: given } = await op.target();
      const first = await sendWithKey(t, alice, key, path, op.body('the first'));
      expect(first.status).to.equal(201);
      const chat = given ?? (first.json as { chat_id: string }).chat_id;
      const stored = await t.messageCount(chat);

      await forgetKey(t, scope, key);
      expectError(
        await sendWithKey(other, alice, key, path, op.body('the second')),
        409,
        'idempotency-key-reused',
      );
      expect(await t.messageCount(chat)).to.equal(stored);
      expect(await keyRows(t, scope, key)).to.equal(1);
    });
  }

  it('stores once when concurrent duplicates race and the store forgets the key between them', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const scope = `u:${alice.userId}`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        await forgetKey(t, scope, key);
        return sendWithKey(i % 2 ? other : t, alice, key, `/v1/chats/${chat}/messages`, { message: 'racy' });
      }),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(8).fill(201));
    expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).to.equal(1);
    expect(await t.messageCount(chat)).to.equal(1);
    expect(await keyRows(t, scope, key)).to.equal(1);
  });

  it('writes no key when the post fails (not a member), and the key works once the post may succeed', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const path = `/v1/chats/${chat}/messages`;
    expectError(await sendWithKey(t, bob, key, path, { message: 'too early' }), 403, 'forbidden');
    expect(await keyRows(t, `u:${bob.userId}`, key)).to.equal(0);
    await t.addMember(alice, chat, bob);
    await forgetKey(t, `u:${bob.userId}`, key);
    expect((await sendWithKey(other, bob, key, path, { message: 'too early' })).status).to.equal(201);
    expect(await keyRows(t, `u:${bob.userId}`, key)).to.equal(1);
    expect(await t.messageCount(chat)).to.equal(1);
  });

  it('runs an expired key again (never replayed), and the new record replaces the old', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const scope = `u:${alice.userId}`;
    const path = `/v1/chats/${chat}/messages`;
    const first = await sendWithKey(t, alice, key, path, { message: 'yesterday' });
    // 25 hours later: the record has expired but the cleanup has not run yet; Redis forgot it on time.
    await t.database.db
      .updateTable('idempotency_keys')
      .set({
        created_at: sql<Date>`now() - interval '25 hours'`,
        expires_at: sql<Date>`now() - interval '1 hour'`,
      })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
    await forgetKey(t, scope, key);

    const again = await sendWithKey(other, alice, key, path, { message: 'yesterday' });
    expect(again.status).to.equal(201);
    expect(again.headers.get('idempotent-replayed')).to.equal(null);
    expect(again.json).to.not.deep.equal(first.json);
    expect(await t.messageCount(chat)).to.equal(2);
    expect(await keyRows(t, scope, key)).to.equal(1);

    await forgetKey(t, scope, key);
    const third = await sendWithKey(t, alice, key, path, { message: 'yesterday' });
    expect(third.json).to.deep.equal(again.json);
    expect(third.headers.get('idempotent-replayed')).to.equal('true');
    expect(await t.messageCount(chat)).to.equal(2);
  });

  it('keeps ?user_id= scopes apart in AUTH_DISABLED mode, through PostgreSQL too', async () => {
    const legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    try {
      const chat = await t.chatWith(alice, bob);
      const key = randomUUID();
      const as = (user: TestUser) =>
        legacy.raw('POST', `/v1/chats/${chat}/messages?user_id=${user.userId}`, {
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ message: 'trusted' }),
        });
      const first = await as(alice);
      expect(first.status).to.equal(201);
      await forgetKey(t, `t:${alice.userId}`, key);
      const again = await as(alice);
      expect(again.json).to.deep.equal(first.json);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      const bobs = await as(bob);
      expect(bobs.status).to.equal(201);
      expect(bobs.json).to.not.deep.equal(first.json);
      expect(await t.messageCount(chat)).to.equal(2);
    } finally {
      await legacy.stop();
    }
  });
});
