import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { createLogger, isDependencyUnavailable } from '@messenger/shared';
import { GroupCommit, postStartWithinMs } from '../src/messages/group-commit.ts';
import { ServerClock, storePosts, type PlainPost } from '../src/messages/post-statement.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

// The post statement and the group commit called directly (they import api/src); what a client
// sees of posting is in messages.test.ts, batch.test.ts and the idempotency suites.
describe('posting in one statement, and the group commit', function () {
  this.timeout(60_000);
  let t: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    t = await TestContext.start();
    [alice, bob] = await t.registerUsers('alice', 'bob');
  });
  after(() => t.stop());

  const plain = (
    chatId: string,
    user: TestUser,
    text: string,
    extra: Partial<PlainPost> = {},
  ): PlainPost => ({
    id: randomUUID(),
    chatId,
    userId: user.userId,
    text,
    attachments: [],
    ...extra,
  });
  /** A fresh Idempotency-Key of `user` to record with a post. */
  const newKey = (user: TestUser) => ({
    scope: `u:${user.userId}`,
    key: randomUUID(),
    fingerprint: 'fp',
    ttlSeconds: 60,
    status: 201,
    body: {},
  });
  const stored = async (chatId: string) =>
    // Ordered by the column, not the selected text (where "10" < "9").
    (
      await sql<{ id: string; seq: string; text: string }>`
        select m.id, m.seq::text as seq, m.text from messages m where m.chat_id = ${chatId} order by m.seq`.execute(
        t.database.db,
      )
    ).rows.map((r) => ({ id: r.id, seq: Number(r.seq), text: r.text }));
  const createdEvents = async (chatId: string) =>
    (
      await sql<{ message_id: string }>`
        select data->'message'->>'message_id' as message_id from events
        where chat_id = ${chatId} and type = 'message.created' order by id`.execute(t.database.db)
    ).rows.map((r) => r.message_id);
  const unread = async (chatId: string, user: TestUser) =>
    Number(
      (
        await sql<{ n: number }>`select unread_count as n from chat_members
          where chat_id = ${chatId} and user_id = ${user.userId}`.execute(t.database.db)
      ).rows[0]!.n,
    );

  describe('the statement', () => {
    it('stores posts to several chats at once: consecutive seqs per chat in the order given, one event each in that order, unread counts', async () => {
      const one = await t.chatWith(alice, bob);
      const two = await t.chatWith(bob, alice);
      await t.post(alice, one, 'before');
      const posts = [
        plain(one, alice, 'a1'),
        plain(two, bob, 'b1'),
        plain(one, bob, 'a2'),
        plain(one, alice, 'a3'),
        plain(two, bob, 'b2'),
      ];
      expect(await storePosts(t.database.db, posts)).to.deep.equal(Array(5).fill('stored'));
      expect(await stored(one)).to.deep.equal([
        { id: (await stored(one))[0]!.id, seq: 1, text: 'before' },
        { id: posts[0]!.id, seq: 2, text: 'a1' },
        { id: posts[2]!.id, seq: 3, text: 'a2' },
        { id: posts[3]!.id, seq: 4, text: 'a3' },
      ]);
      expect((await stored(two)).map((m) => [m.id, m.seq])).to.deep.equal([
        [posts[1]!.id, 1],
        [posts[4]!.id, 2],
      ]);
      expect((await createdEvents(one)).slice(1)).to.deep.equal([posts[0]!.id, posts[2]!.id, posts[3]!.id]);
      expect(await createdEvents(two)).to.deep.equal([posts[1]!.id, posts[4]!.id]);
      // Bob had 1 unread ("before"), then a1 and a3 (a2 is his own); Alice: a2 in one, both in two.
      expect(await unread(one, bob)).to.equal(3);
      expect(await unread(one, alice)).to.equal(1);
      expect(await unread(two, alice)).to.equal(2);
    });

    it('answers chat-not-found for a chat that is not there, and stores the others', async () => {
      const chat = await t.chatWith(alice);
      const outcomes = await storePosts(t.database.db, [
        plain(randomUUID(), alice, 'lost'),
        plain(chat, alice, 'kept'),
      ]);
      expect(outcomes).to.deep.equal(['chat-not-found', 'stored']);
      expect((await stored(chat)).map((m) => m.text)).to.deep.equal(['kept']);
    });

    it('records each Idempotency-Key with its message; a key already live stores nothing for that post', async () => {
      const chat = await t.chatWith(alice);
      const key = (name: string, id: string) => ({
        scope: `u:${alice.userId}`,
        key: name,
        fingerprint: `fp-${name}`,
        ttlSeconds: 60,
        status: 201,
        body: { message_id: id },
      });
      const first = plain(chat, alice, 'first');
      first.key = key(`k-${first.id}`, first.id);
      expect(await storePosts(t.database.db, [first])).to.deep.equal(['stored']);
      const again = plain(chat, alice, 'again', { key: { ...first.key, fingerprint: 'other' } });
      const other = plain(chat, alice, 'other');
      other.key = key(`k-${other.id}`, other.id);
      expect(await storePosts(t.database.db, [again, other])).to.deep.equal(['key-taken', 'stored']);
      expect((await stored(chat)).map((m) => m.text)).to.deep.equal(['first', 'other']);
      const records = await sql<{ key: string; fingerprint: string; body: unknown }>`
        select key, fingerprint, body from idempotency_keys where scope = ${`u:${alice.userId}`}
          and key = any(${[first.key.key, other.key.key]}::text[]) order by created_at, key`.execute(
        t.database.db,
      );
      expect(records.rows).to.have.deep.members([
        { key: first.key.key, fingerprint: first.key.fingerprint, body: { message_id: first.id } },
        { key: other.key.key, fingerprint: other.key.fingerprint, body: { message_id: other.id } },
      ]);
    });
  });

  describe('the statement’s deadline', () => {
    /** A server clock `aheadMs` ahead of ours, as measured. */
    const clockAhead = (aheadMs: number) =>
      Object.assign(new ServerClock(), { offsetMs: async () => aheadMs }) as ServerClock;

    it('stores the posts when the server starts the statement in time', async () => {
      const chat = await t.chatWith(alice);
      const startWithin = { ms: 400, clock: new ServerClock() };
      expect(await storePosts(t.database.db, [plain(chat, alice, 'in time')], startWithin)).to.deep.equal([
        'stored',
      ]);
      expect((await stored(chat)).map((m) => m.text)).to.deep.equal(['in time']);
    });

    it('writes nothing and fails with 503 when the server starts it after the deadline (a thawed server)', async () => {
      const chat = await t.chatWith(alice, bob);
      // As if the statement had waited 10 s in a frozen server's socket: the deadline has passed.
      const late = { ms: 400, clock: clockAhead(-10_000) };
      const key = newKey(alice);
      const failed = await storePosts(t.database.db, [plain(chat, alice, 'late', { key })], late).catch(
        (e: unknown) => e,
      );
      expect(isDependencyUnavailable(failed), String(failed)).to.equal(true);
      expect(await stored(chat)).to.deep.equal([]);
      expect(await unread(chat, bob)).to.equal(0);
      const keys = await sql`select 1 from idempotency_keys where key = ${key.key}`.execute(t.database.db);
      expect(keys.rows).to.have.length(0);
    });

    it('is given only to PostgreSQL, and leaves the start the time the statement timeout does not take', () => {
      expect(
        postStartWithinMs({ backend: 'postgres', queryTimeoutMs: 2_000, statementTimeoutMs: 1_500 }),
      ).to.equal(400);
      expect(
        postStartWithinMs({ backend: 'postgres', queryTimeoutMs: 2_000, statementTimeoutMs: 0 }),
      ).to.equal(400);
      expect(
        postStartWithinMs({ backend: 'postgres', queryTimeoutMs: 0, statementTimeoutMs: 1_500 }),
      ).to.equal(undefined);
      expect(
        postStartWithinMs({ backend: 'pglite', queryTimeoutMs: 2_000, statementTimeoutMs: 1_500 }),
      ).to.equal(undefined);
    });
  });

  describe('the group commit', () => {
    const log = createLogger('silent');

    it('coalesces posts that wait into one statement, in the order they came, each answered', async () => {
      const chat = await t.chatWith(alice, bob);
      const commits: string[][] = [];
      const group = new GroupCommit(t.database.db, async (chatIds) => void commits.push(chatIds), log, {
        maxInFlight: 1,
      });
      const posts = Array.from({ length: 60 }, (_, i) => plain(chat, i % 2 ? alice : bob, `m${i}`));
      const outcomes = await Promise.all(posts.map((p) => group.post(p)));
      expect(outcomes).to.deep.equal(Array(60).fill('stored'));
      // The first went at once, alone; the 59 that came while it ran went together.
      expect(commits).to.deep.equal([[chat], [chat]]);
      const rows = await stored(chat);
      expect(rows.map((r) => r.seq)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(rows.map((r) => r.text)).to.deep.equal(posts.map((p) => p.text));
      expect(await createdEvents(chat)).to.deep.equal(rows.map((r) => r.id));
    });

    it('keeps a chat’s seqs unbroken and its events in seq order with statements in flight side by side', async () => {
      const chats = [await t.chatWith(alice, bob), await t.chatWith(bob, alice)];
      const group = new GroupCommit(t.database.db, async () => {}, log);
      const posts = Array.from({ length: 80 }, (_, i) => plain(chats[i % 2]!, i % 3 ? alice : bob, `m${i}`));
      expect(await Promise.all(posts.map((p) => group.post(p)))).to.deep.equal(Array(80).fill('stored'));
      for (const chat of chats) {
        const rows = await stored(chat);
        expect(rows.map((r) => r.seq)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
        expect(await createdEvents(chat)).to.deep.equal(rows.map((r) => r.id));
      }
    });

    it('fails only the post PostgreSQL refuses: the others of its batch are stored', async () => {
      const chat = await t.chatWith(alice);
      const group = new GroupCommit(t.database.db, async () => {}, log, { maxInFlight: 1 });
      // The first goes alone; the next three wait for it and go together.
      const results = await Promise.allSettled([
        group.post(plain(chat, alice, 'alone')),
        group.post(plain(chat, alice, 'good 1')),
        group.post(plain(chat, alice, 'bad \u0000 text')),
        group.post(plain(chat, alice, 'good 2')),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(((results[2] as PromiseRejectedResult).reason as { code?: string }).code).to.match(/^22/);
      expect((await stored(chat)).map((m) => m.text)).to.deep.equal(['alone', 'good 1', 'good 2']);
    });

    it('stores one of two posts with the same key in one batch, and tells the other its key was taken', async () => {
      const chat = await t.chatWith(alice);
      const group = new GroupCommit(t.database.db, async () => {}, log, { maxInFlight: 1 });
      const key = newKey(alice);
      const outcomes = await Promise.all([
        group.post(plain(chat, alice, 'first')),
        group.post(plain(chat, alice, 'one', { key })),
        group.post(plain(chat, alice, 'two', { key })),
      ]);
      expect(outcomes).to.deep.equal(['stored', 'stored', 'key-taken']);
      expect((await stored(chat)).map((m) => m.text)).to.deep.equal(['first', 'one']);
    });

    it('gives every post of a batch the error of a database that does not answer', async () => {
      const chat = await t.chatWith(alice);
      let calls = 0;
      const broken = new Proxy(t.database.db, {
        get: (target, prop, receiver) =>
          prop === 'connection'
            ? () => ({
                execute: async () => {
                  calls += 1;
                  throw new Error('Connection terminated unexpectedly');
                },
              })
            : Reflect.get(target, prop, receiver),
      });
      const group = new GroupCommit(broken, async () => {}, log, { maxInFlight: 1 });
      const results = await Promise.allSettled([1, 2, 3].map((i) => group.post(plain(chat, alice, `m${i}`))));
      expect(results.every((r) => r.status === 'rejected')).to.equal(true);
      // One statement alone, then the two that waited, together: not tried again one by one.
      expect(calls).to.equal(2);
    });
  });
});
