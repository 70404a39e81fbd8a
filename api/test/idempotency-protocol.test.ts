import { randomUUID } from 'node:crypto';
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
import { forgetKey, keyRows, storeKeyOf } from './support/idempotency.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

// The protocol and the cleanup called directly, not through HTTP (so these import api/src);
// what a client sees is in idempotency.test.ts and idempotency-postgres.test.ts.
describe('Idempotency-Key recorded in PostgreSQL', function () {
  this.timeout(60_000);
  let t: TestContext;
  let alice: TestUser;
  before(async () => {
    t = await TestContext.start();
    alice = await t.registerUser('alice');
  });
  after(() => t.stop());

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
      await forgetKey(t, `u:${alice.userId}`, key);
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
      expect(await keyRows(t, `u:${alice.userId}`, key)).to.equal(1);
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
      expect(await keyRows(t, `u:${alice.userId}`, key)).to.equal(0);
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
