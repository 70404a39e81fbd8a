import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Context as KoaContext } from 'koa';
import { sql } from 'kysely';
import { createLogger, type Store } from '@messenger/shared';
import { Actor } from '../src/auth/actor.ts';
import { canonicalJson } from '../src/idempotency/fingerprint.ts';
import { IdempotencyCleanup } from '../src/idempotency/idempotency-cleanup.ts';
import { IdempotencyRepository } from '../src/idempotency/idempotency.repository.ts';
import { createIdempotency, type RecordReply } from '../src/idempotency/idempotency.ts';
import { MessagesRepository } from '../src/messages/messages.repository.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

/** The store's key for an Idempotency-Key (api/src/idempotency/idempotency.ts): `u:<user>` or `t:<user_id>`. */
const storeKeyOf = (scope: string, key: string) =>
  `idempotency:${createHash('sha256').update(`${scope}\n${key}`).digest('base64url')}`;

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
    ctx.raw('POST', `/v1/chats/${chat}/messages`, {
      headers: {
        authorization: `session_id ${user.token}`,
        'content-type': 'application/json',
        ...(key !== undefined && { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    });
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
    const batch = await other.raw('POST', `/v1/chats/${chatId}/messages/batch`, {
      headers: {
        authorization: `session_id ${alice.token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ messages: [{ message: 'first' }] }),
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
      ctx.raw('POST', `/v1/chats/${chat}/messages/batch`, {
        headers: {
          authorization: `session_id ${alice.token}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ messages: [{ message: 'a' }, { message: 'b' }] }),
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

  const send = (ctx: TestContext, user: TestUser, key: string, path: string, body: unknown) =>
    ctx.raw('POST', path, {
      headers: {
        authorization: `session_id ${user.token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
    });
  /** What Redis loses in a flush, for this one key only: the shared Redis is never flushed. */
  const forget = (scope: string, key: string) => t.store.del(storeKeyOf(scope, key));
  const keyRows = async (scope: string, key: string) => {
    const row = await t.database.db
      .selectFrom('idempotency_keys')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

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
      const first = await send(t, alice, key, path, op.body('lost and found'));
      expect(first.status).to.equal(201);
      const chat = given ?? (first.json as { chat_id: string }).chat_id;
      const stored = await t.messageCount(chat);
      expect(await keyRows(scope, key)).to.equal(1);

      expect(await forget(scope, key)).to.equal(1);
      const again = await send(other, alice, key, path, op.body('lost and found'));
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
      const first = await send(t, alice, key, path, op.body('the first'));
      expect(first.status).to.equal(201);
      const chat = given ?? (first.json as { chat_id: string }).chat_id;
      const stored = await t.messageCount(chat);

      await forget(scope, key);
      expectError(await send(other, alice, key, path, op.body('the second')), 409, 'idempotency-key-reused');
      expect(await t.messageCount(chat)).to.equal(stored);
      expect(await keyRows(scope, key)).to.equal(1);
    });
  }

  it('stores once when concurrent duplicates race and the store forgets the key between them', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const scope = `u:${alice.userId}`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        await forget(scope, key);
        return send(i % 2 ? other : t, alice, key, `/v1/chats/${chat}/messages`, { message: 'racy' });
      }),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(8).fill(201));
    expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).to.equal(1);
    expect(await t.messageCount(chat)).to.equal(1);
    expect(await keyRows(scope, key)).to.equal(1);
  });

  it('writes no key when the post fails (not a member), and the key works once the post may succeed', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const path = `/v1/chats/${chat}/messages`;
    expectError(await send(t, bob, key, path, { message: 'too early' }), 403, 'forbidden');
    expect(await keyRows(`u:${bob.userId}`, key)).to.equal(0);
    await t.addMember(alice, chat, bob);
    await forget(`u:${bob.userId}`, key);
    expect((await send(other, bob, key, path, { message: 'too early' })).status).to.equal(201);
    expect(await keyRows(`u:${bob.userId}`, key)).to.equal(1);
    expect(await t.messageCount(chat)).to.equal(1);
  });

  it('runs an expired key again (never replayed), and the new record replaces the old', async () => {
    const chat = await t.createChat(alice);
    const key = randomUUID();
    const scope = `u:${alice.userId}`;
    const path = `/v1/chats/${chat}/messages`;
    const first = await send(t, alice, key, path, { message: 'yesterday' });
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
    await forget(scope, key);

    const again = await send(other, alice, key, path, { message: 'yesterday' });
    expect(again.status).to.equal(201);
    expect(again.headers.get('idempotent-replayed')).to.equal(null);
    expect(again.json).to.not.deep.equal(first.json);
    expect(await t.messageCount(chat)).to.equal(2);
    expect(await keyRows(scope, key)).to.equal(1);

    await forget(scope, key);
    const third = await send(t, alice, key, path, { message: 'yesterday' });
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
      await forget(`t:${alice.userId}`, key);
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

  describe('the protocol, on the real database', () => {
    const log = createLogger('silent');
    let keys: IdempotencyRepository;
    let messages: MessagesRepository;
    before(() => {
      keys = new IdempotencyRepository(t.database.db);
      messages = new MessagesRepository(t.database.db);
    });

    /** What the protocol reads of a Koa request, and the headers it sets. */
    const request = (key: string, chat: string, text: string) => {
      const headers: Record<string, string> = {};
      const koa = {
        method: 'POST',
        path: `/v1/chats/${chat}/messages`,
        query: {},
        get: (name: string) => (name.toLowerCase() === 'idempotency-key' ? key : ''),
        set: (name: string, value: string) => {
          headers[name.toLowerCase()] = value;
        },
      } as unknown as KoaContext;
      return { koa, headers, body: { message: text } };
    };
    const callerOf = (user: TestUser): Actor => Actor.session(user.userId);
    const created = (id: string) => ({ status: 201 as const, body: { message_id: id } });
    /** A post as postMessage does it, after `before` resolves (a slow request, held on purpose). */
    const postWork =
      (chat: string, text: string, before: () => Promise<void> = async () => {}) =>
      async (record: RecordReply) => {
        await before();
        const stored = await messages.appendMany(
          chat,
          alice.userId,
          [{ text, attachments: [] }],
          (trx, [id]) => record(trx, created(id!)),
        );
        return created(stored![0]!.id);
      };
    /** A store that does not answer (Redis down). */
    const downStore = new Proxy({} as Store, {
      get: (_, prop) =>
        prop === 'backend' ? 'redis' : () => Promise.reject(new Error('Connection is closed.')),
    });

    it('of two duplicates that both got past the store, one commits and the other rolls back and replays its reply', async () => {
      const idempotent = createIdempotency(t.store, keys, log, { ttlSeconds: 3600 });
      const chat = await t.createChat(alice);
      const key = randomUUID();
      // Each work stops here once it is past the store and PostgreSQL's lookup, until the gate opens.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const arrivals: Array<() => void> = [];
      const arrived = () => new Promise<void>((resolve) => arrivals.push(resolve));
      const hold = async () => {
        arrivals.shift()!();
        await gate;
      };
      const a = request(key, chat, 'held');
      const b = request(key, chat, 'held');
      const firstIn = arrived();
      const first = idempotent(a.koa, callerOf(alice), a.body, postWork(chat, 'held', hold));
      await firstIn;
      // The store forgets the first one's claim while it runs (a flush): the second gets past it too.
      await forget(`u:${alice.userId}`, key);
      const secondIn = arrived();
      const second = idempotent(b.koa, callerOf(alice), b.body, postWork(chat, 'held', hold));
      await secondIn;
      open();
      const [ra, rb] = await Promise.all([first, second]);
      expect(ra).to.deep.equal(rb);
      expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].sort()).to.deep.equal([
        'true',
        undefined,
      ]);
      expect(await t.messageCount(chat)).to.equal(1);
      expect(await keyRows(`u:${alice.userId}`, key)).to.equal(1);
    });

    it('with the store down, runs a request once through PostgreSQL alone, replays it, and refuses another body', async () => {
      const idempotent = createIdempotency(downStore, keys, log, { ttlSeconds: 3600 });
      const chat = await t.createChat(alice);
      const key = randomUUID();
      const run = (text: string) => {
        const r = request(key, chat, text);
        return idempotent(r.koa, callerOf(alice), r.body, postWork(chat, text)).then((reply) => ({
          reply,
          replayed: r.headers['idempotent-replayed'],
        }));
      };
      const first = await run('no redis');
      expect(first.replayed).to.equal(undefined);
      const again = await run('no redis');
      expect(again).to.deep.equal({ reply: first.reply, replayed: 'true' });
      let refused: unknown;
      await run('another').catch((err: unknown) => (refused = err));
      expect(refused).to.have.property('code', 'idempotency-key-reused');

      // Concurrent duplicates of a new key: the database lets one commit.
      const racyKey = randomUUID();
      const replies = await Promise.all(
        Array.from({ length: 4 }, () => {
          const r = request(racyKey, chat, 'racy');
          return idempotent(r.koa, callerOf(alice), r.body, postWork(chat, 'racy'));
        }),
      );
      expect(new Set(replies.map((r) => JSON.stringify(r))).size).to.equal(1);
      expect(await t.messageCount(chat)).to.equal(2);
    });

    it('records nothing when the work fails after recording in its transaction, and frees the key', async () => {
      const idempotent = createIdempotency(t.store, keys, log, { ttlSeconds: 3600 });
      const chat = await t.createChat(alice);
      const key = randomUUID();
      const r = request(key, chat, 'doomed');
      const failing = async (record: RecordReply) => {
        await messages.appendMany(
          chat,
          alice.userId,
          [{ text: 'doomed', attachments: [] }],
          async (trx, [id]) => {
            await record(trx, created(id!));
            throw new Error('the transaction fails after the record');
          },
        );
        return created('never');
      };
      let failed: unknown;
      await idempotent(r.koa, callerOf(alice), r.body, failing).catch((err: unknown) => (failed = err));
      expect(failed).to.have.property('message', 'the transaction fails after the record');
      expect(await keyRows(`u:${alice.userId}`, key)).to.equal(0);
      expect(await t.messageCount(chat)).to.equal(0);
      expect(await t.store.get(storeKeyOf(`u:${alice.userId}`, key))).to.equal(null);

      const retry = request(key, chat, 'doomed');
      const reply = await idempotent(retry.koa, callerOf(alice), retry.body, postWork(chat, 'doomed'));
      expect(reply.status).to.equal(201);
      expect(await t.messageCount(chat)).to.equal(1);
    });
  });

  describe('the cleanup', () => {
    const log = createLogger('silent');
    /** Records written straight into the table, `ageHours` old, expired `expiredHoursAgo` ago (negative: live). */
    const insertRecords = async (scope: string, n: number, expiredHoursAgo: number) => {
      await t.database.db
        .insertInto('idempotency_keys')
        .values(
          Array.from({ length: n }, (_, i) => ({
            scope,
            key: `k${i}`,
            fingerprint: 'fp',
            status: 201,
            body: JSON.stringify({ message_id: 'm' }),
            created_at: sql<Date>`now() - interval '48 hours'`,
            expires_at: sql<Date>`now() - ${expiredHoursAgo}::int * interval '1 hour'`,
          })),
        )
        .execute();
    };
    const rowsOf = async (scope: string) => {
      const row = await t.database.db
        .selectFrom('idempotency_keys')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('scope', '=', scope)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };

    it('deletes expired records in bounded batches and keeps live ones', async () => {
      const keys = new IdempotencyRepository(t.database.db);
      const drain = new IdempotencyCleanup(keys, log, { intervalSeconds: 3600 });
      // Whatever expired rows earlier runs left: this test counts its own.
      await drain.sweep();
      await drain.close();

      const expired = `test:${randomUUID()}`;
      const live = `test:${randomUUID()}`;
      await insertRecords(expired, 5, 1);
      await insertRecords(live, 2, -1);
      const cleanup = new IdempotencyCleanup(keys, log, {
        intervalSeconds: 3600,
        batchSize: 2,
        maxBatches: 2,
      });
      try {
        expect(await cleanup.sweep()).to.equal(4);
        expect(await rowsOf(expired)).to.equal(1);
        expect(await cleanup.sweep()).to.equal(1);
        expect(await rowsOf(expired)).to.equal(0);
        expect(await rowsOf(live)).to.equal(2);
      } finally {
        await cleanup.close();
      }
    });

    it('runs on its own timer in every app (IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS)', async () => {
      const app = await TestContext.start({ IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS: '1' });
      try {
        const scope = `test:${randomUUID()}`;
        await insertRecords(scope, 3, 1);
        for (let tries = 0; (await rowsOf(scope)) > 0; tries++) {
          if (tries > 100) throw new Error('the app never deleted the expired records');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await app.stop();
      }
    });
  });
});

describe('canonicalJson (the body part of a fingerprint)', () => {
  it('writes JSON with sorted keys and without undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: null, c: 'x', e: undefined }], u: undefined })).to.equal(
      '{"a":[1,{"c":"x","d":null}],"b":1}',
    );
    expect(canonicalJson([undefined, 'é\u0000', true])).to.equal('[null,"é\\u0000",true]');
    expect(canonicalJson(undefined)).to.equal('null');
    expect(canonicalJson({})).to.equal('{}');
    expect(canonicalJson([])).to.equal('[]');
  });

  it('takes a body nested 100,000 levels deep without overflowing the stack', () => {
    let deep: unknown = 'core';
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { k: deep };
    const json = canonicalJson(deep);
    expect(json).to.have.length(50_000 * '{"k":}'.length + 50_000 * '[]'.length + '"core"'.length);
    expect(json.startsWith('[{"k":[{"k":')).to.equal(true);
  });
});
