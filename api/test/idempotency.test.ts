import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { expectError } from './support/expect-error.ts';
import { sendWithKey, storeKeyOf } from './support/idempotency.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

// What PostgreSQL keeps when the store forgets: idempotency-postgres.test.ts; the protocol and the
// cleanup on their own: idempotency-protocol.test.ts.

describe('Idempotency-Key on message-creating requests', function () {
  // The first file of a run opens the embedded database (seconds on a busy machine).
  this.timeout(60_000);
  let t: TestContext;
  let other: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  before(async () => {
    // Two API instances on the run's one database and store, as two replicas behind nginx.
    [t, other] = [await TestContext.start(), await TestContext.start()];
    alice = await t.registerUser('alice');
    bob = await t.registerUser('bob');
    chatId = await t.chatWith(alice, bob);
  });
  after(async () => {
    await other.stop();
    await t.stop();
  });

  const post = (ctx: TestContext, user: TestUser, key: string | undefined, body: unknown, chat = chatId) =>
    sendWithKey(ctx, user, key, `/v1/chats/${chat}/messages`, body);
  const count = (chat = chatId) => t.messageCount(chat);

  it('answers 400 bad-parameters for a key over 255 characters or with spaces, and stores nothing', async () => {
    const before = await count();
    for (const key of ['k'.repeat(256), 'has space']) {
      expectError(await post(t, alice, key, { message: 'x' }), 400, 'bad-parameters', /Idempotency-Key/i);
    }
    expect(await count()).to.equal(before);
  });

  it('replays the first response (same status and message_id) on another API instance, storing nothing new', async () => {
    const key = randomUUID();
    const first = await post(t, alice, key, { message: 'once', attachments: [] });
    expect(first.status).to.equal(201);
    const before = await count();
    // Same body, keys in another order.
    const again = await post(other, alice, key, { attachments: [], message: 'once' });
    expect(again.status).to.equal(201);
    expect(again.json).to.deep.equal(first.json);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(await count()).to.equal(before);
  });

  it('answers 409 idempotency-key-reused for the same key with another body or path', async () => {
    const key = randomUUID();
    expect((await post(t, alice, key, { message: 'first' })).status).to.equal(201);
    const before = await count();
    expectError(await post(other, alice, key, { message: 'second' }), 409, 'idempotency-key-reused');
    const batch = await sendWithKey(other, alice, key, `/v1/chats/${chatId}/messages/batch`, {
      messages: [{ message: 'first' }],
    });
    expectError(batch, 409, 'idempotency-key-reused');
    expect(await count()).to.equal(before);
  });

  it("keeps users' keys apart: the same key from another user is a new message", async () => {
    const key = randomUUID();
    const a = await post(t, alice, key, { message: 'same' });
    const b = await post(t, bob, key, { message: 'same' });
    expect([a.status, b.status]).to.deep.equal([201, 201]);
    expect(a.json).to.not.deep.equal(b.json);
  });

  it('stores once for concurrent duplicates on two instances, and all of them answer the same id', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post(i % 2 ? other : t, alice, key, { message: 'racy' }, chat)),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(8).fill(201));
    expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).to.equal(1);
    expect(await count(chat)).to.equal(1);
  });

  it('does not remember a failure: after a 403 the same key works once the caller may post', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    expectError(await post(t, bob, key, { message: 'early' }, chat), 403, 'forbidden');
    await t.addMember(alice, chat, bob);
    const ok = await post(other, bob, key, { message: 'early' }, chat);
    expect(ok.status).to.equal(201);
    expect(await count(chat)).to.equal(1);
  });

  it('answers 409 idempotency-key-in-progress while the first request holds the key too long', async () => {
    const key = randomUUID();
    // A claim left by a request still running (or a process that died within the last minute).
    const storeKey = storeKeyOf(`u:${alice.userId}`, key);
    const fp = createHash('sha256')
      .update(`POST /v1/chats/${chatId}/messages\n{"message":"slow"}`)
      .digest('base64url');
    await t.store.set(storeKey, JSON.stringify({ fp, state: 'pending' }), 60);
    const started = Date.now();
    expectError(await post(other, alice, key, { message: 'slow' }), 409, 'idempotency-key-in-progress');
    expect(Date.now() - started).to.be.at.least(4_000);
  });

  it('makes a batch idempotent too', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const send = (ctx: TestContext) =>
      sendWithKey(ctx, alice, key, `/v1/chats/${chat}/messages/batch`, {
        messages: [{ message: 'a' }, { message: 'b' }],
      });
    const first = await send(t);
    const again = await send(other);
    expect([first.status, again.status]).to.deep.equal([201, 201]);
    expect(again.json).to.deep.equal(first.json);
    expect(await count(chat)).to.equal(2);
  });

  it('without a key, a repeat is a new message (as the original API)', async () => {
    const chat = await t.createChat(alice);
    await post(t, alice, undefined, { message: 'twice' }, chat);
    await post(t, alice, undefined, { message: 'twice' }, chat);
    expect(await count(chat)).to.equal(2);
  });
});
