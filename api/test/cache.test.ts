import { expect } from 'chai';
import type { KyselyPlugin } from 'kysely';
import type { Database, Store } from '@messenger/shared';
import { describeRealService, realService } from '../../shared/test/support/real-services.ts';
import { CuttableProxy } from '../../test/support/tcp-proxy.ts';
import { sharedBackends } from './support/backends.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

/** The run's database, seen through a plugin that counts every query it runs. */
function countingDatabase(database: Database): { database: Database; count: () => number } {
  let queries = 0;
  const counter: KyselyPlugin = {
    transformQuery: (args) => {
      queries++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  // Close belongs to the shared database, not to this view of it.
  return {
    database: { ...database, db: database.db.withPlugin(counter), close: async () => {} },
    count: () => queries,
  };
}

/** The run's store, seen through a proxy that records every call made to it (one call, one round trip). */
function countingStore(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || name === 'close') return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

/** The page every test here reads: the first 50 messages. */
const readPage = (ctx: TestContext, user: TestUser, chatId: string, headers: Record<string, string> = {}) =>
  ctx.history(user, chatId, { limit: 50 }, headers);

describe('cached history reads', () => {
  let t: TestContext;
  let counted: ReturnType<typeof countingDatabase>;
  let owner: TestUser;
  let chatId: string;
  before(async () => {
    counted = countingDatabase((await sharedBackends()).database);
    t = await TestContext.start({}, { database: counted.database });
    owner = await t.registerUser('owner');
    chatId = await t.createChat(owner);
    await t.post(owner, chatId, 'first');
  });
  after(() => t.stop());

  it('serves a page it has read before without touching PostgreSQL', async () => {
    const first = await readPage(t, owner, chatId);
    expect(first.response.status).to.equal(200);
    const before = counted.count();
    const second = await readPage(t, owner, chatId);
    expect(counted.count() - before).to.equal(0);
    expect(second.data).to.deep.equal(first.data);
  });

  it('answers a cached page in two store round trips (session; version, page and membership together)', async () => {
    const spy = countingStore(t.store);
    const other = await TestContext.start({}, { database: counted.database, store: spy.store });
    try {
      const reader = other.client(owner.token);
      const first = await other.history(reader, chatId, { limit: 50 });
      expect(first.response.status).to.equal(200);
      spy.calls.length = 0;
      const before = counted.count();
      const hit = await other.history(reader, chatId, { limit: 50 });
      expect(hit.data).to.deep.equal(first.data);
      expect(hit.response.headers.get('etag')).to.equal(first.response.headers.get('etag'));
      expect(spy.calls).to.deep.equal(['getAndTouch', 'getFollowing']);
      expect(counted.count() - before).to.equal(0);
    } finally {
      await other.stop();
    }
  });

  it('reads the membership from the store once on a miss, then from the database', async () => {
    const spy = countingStore(t.store);
    const other = await TestContext.start({}, { database: counted.database, store: spy.store });
    try {
      const member = await t.registerUser('miss');
      await t.addMember(owner, chatId, member);
      // The add wrote the membership through: drop it, so the read misses.
      await t.store.del(`member:${chatId}:${member.userId}`);
      spy.calls.length = 0;
      const read = await other.history(other.client(member.token), chatId, { limit: 50 });
      expect(read.response.status).to.equal(200);
      expect(spy.calls.filter((c) => c === 'get' || c === 'getFollowing')).to.deep.equal(['getFollowing']);
      // What the database said is cached for the next read.
      expect(spy.calls).to.include('set');
      expect(await t.store.get(`member:${chatId}:${member.userId}`)).to.equal('1');
    } finally {
      await other.stop();
    }
  });

  it('drops every cached page of the chat when someone posts, so the next read has the message', async () => {
    await readPage(t, owner, chatId);
    await t.post(owner, chatId, 'second');
    const after = await readPage(t, owner, chatId);
    expect(after.data!.messages.map((m) => m.text)).to.deep.equal(['first', 'second']);
  });

  it('answers 304 with no body for If-None-Match with the current ETag, and 200 with a new one after a change', async () => {
    const read = await readPage(t, owner, chatId);
    const etag = read.response.headers.get('etag');
    expect(etag).to.match(/^"[\w-]+"$/);
    const unchanged = await t.raw('GET', `/v1/chats/${chatId}/messages?limit=50`, {
      headers: { Authorization: `session_id ${owner.token}`, 'If-None-Match': etag! },
    });
    expect(unchanged.status).to.equal(304);
    expect(unchanged.text).to.equal('');
    expect(unchanged.headers.get('etag')).to.equal(etag);

    await t.post(owner, chatId, 'changed');
    const changed = await readPage(t, owner, chatId, { 'If-None-Match': etag! });
    expect(changed.response.status).to.equal(200);
    expect(changed.response.headers.get('etag')).to.not.equal(etag);
  });

  it('forgets a cached "not a member" as soon as the user is added', async () => {
    const stranger = await t.registerUser('stranger');
    expectError(await readPage(t, stranger, chatId), 403, 'forbidden');
    await t.addMember(owner, chatId, stranger);
    expect((await readPage(t, stranger, chatId)).response.status).to.equal(200);
  });

  it('a post through one instance is in the next read through another (no stale cache)', async () => {
    const other = await TestContext.start();
    try {
      const onOther = other.client(owner.token);
      const before = await other.history(onOther, chatId, { limit: 50 });
      await t.post(owner, chatId, 'from the first instance');
      const after = await other.history(onOther, chatId, { limit: 50 });
      expect(after.data!.messages).to.have.length(before.data!.messages.length + 1);
      expect(after.data!.messages.at(-1)!.text).to.equal('from the first instance');
    } finally {
      await other.stop();
    }
  });
});

describeRealService(
  'with PostgreSQL down',
  realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/messenger_test'),
  (url) => {
    let proxy: CuttableProxy;
    let t: TestContext;
    let owner: TestUser;
    let chatId: string;
    let page: Awaited<ReturnType<typeof readPage>>;

    before(async function () {
      this.timeout(60_000);
      const target = new URL(url!);
      proxy = new CuttableProxy(target.hostname, Number(target.port || 5432));
      await proxy.open();
      const viaProxy = new URL(url!);
      viaProxy.port = String(proxy.port);
      t = await TestContext.start(
        { DATABASE_URL: viaProxy.toString(), DATABASE_POOL_SIZE: '2' },
        { database: undefined },
      );
      owner = await t.registerUser('outage');
      chatId = await t.createChat(owner);
      await t.post(owner, chatId, 'before the outage');
      page = await readPage(t, owner, chatId);
      await proxy.cut();
    });
    after(async () => {
      await t?.stop();
      await proxy?.cut();
    });

    it('still serves history pages that are in the cache', async () => {
      const cached = await readPage(t, owner, chatId);
      expect(cached.response.status).to.equal(200);
      expect(cached.data).to.deep.equal(page.data);
    });

    it('answers writes and /ping_db with 503 service-unavailable', async () => {
      const post = await owner.api.POST('/v1/chats/{chat_id}/messages', {
        params: { path: { chat_id: chatId } },
        body: { message: 'during the outage' },
      });
      expectError(post, 503, 'service-unavailable');
      expectError(await t.api.GET('/ping_db'), 503, 'service-unavailable');
    });

    it('recovers without a restart once the database is back', async () => {
      await proxy.open();
      expect((await t.api.GET('/ping_db')).response.status).to.equal(200);
      const post = await owner.api.POST('/v1/chats/{chat_id}/messages', {
        params: { path: { chat_id: chatId } },
        body: { message: 'after the outage' },
      });
      expect(post.response.status).to.equal(201);
      const after = await readPage(t, owner, chatId);
      expect(after.data!.messages.map((m) => m.text)).to.deep.equal([
        'before the outage',
        'after the outage',
      ]);
    });
  },
);
