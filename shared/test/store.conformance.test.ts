/**
 * One conformance suite for the Store interface, run against MemoryStore (always) and RedisStore
 * (TEST_REDIS_URL). Every Redis key of a run lives under `test-store-<random>:`, so parallel runs
 * never collide; the run deletes them afterwards.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.ts';
import { DependencyUnavailableError } from '../src/errors.ts';
import { connectStore, MemoryStore, RedisStore, type Store } from '../src/store/index.ts';
import { describeRealService, realService, rejectionOf, sleep, uniqueTag } from './support/real-services.ts';

interface StoreTarget {
  readonly backend: Store['backend'];
  /** A store whose keys all start with `keyPrefix`. */
  open(keyPrefix: string): Promise<Store>;
  /** Deletes every key under `prefix` that the run left behind; answers how many there were. */
  sweep(prefix: string): Promise<number>;
  dispose(): Promise<void>;
}

function memoryTarget(): StoreTarget {
  return {
    backend: 'memory',
    open: (keyPrefix) => connectStore(loadConfig({ REDIS_URL: 'memory://', REDIS_KEY_PREFIX: keyPrefix })),
    sweep: async () => 0,
    dispose: async () => {},
  };
}

/** Every key under `prefix`, read without a key prefix of its own. */
async function keysUnder(raw: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

async function redisTarget(url: string): Promise<StoreTarget> {
  const raw = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await raw.connect();
  return {
    backend: 'redis',
    open: (keyPrefix) => connectStore(loadConfig({ REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix })),
    async sweep(prefix) {
      const keys = await keysUnder(raw, prefix);
      if (keys.length > 0) await raw.del(...keys);
      return keys.length;
    },
    async dispose() {
      await raw.quit();
    },
  };
}

function describeStore(open: () => Promise<StoreTarget>): void {
  let target: StoreTarget | undefined;
  let store: Store;
  const opened: Store[] = [];
  const prefix = `test-store-${uniqueTag()}:`;
  let keyCount = 0;
  /** A key no other test uses. */
  const key = (name: string): string => `${name}:${++keyCount}`;
  const openStore = async (keyPrefix: string): Promise<Store> => {
    const opening = await target!.open(keyPrefix);
    opened.push(opening);
    return opening;
  };

  before(async function () {
    this.timeout(30_000);
    target = await open();
    store = await openStore(prefix);
  });

  after(async function () {
    this.timeout(30_000);
    if (!target) return;
    try {
      for (const s of opened.splice(0)) await s.close();
      await target.sweep(prefix);
    } finally {
      await target.dispose();
    }
  });

  it('is the backend its URL names', () => {
    expect(store.backend).to.equal(target?.backend);
  });

  it('sets, gets and overwrites a value', async () => {
    const k = key('value');
    expect(await store.get(k)).to.equal(null);
    await store.set(k, 'one');
    expect(await store.get(k)).to.equal('one');
    await store.set(k, 'two');
    expect(await store.get(k)).to.equal('two');
    await store.set(k, '');
    expect(await store.get(k)).to.equal('');
  });

  it('deletes keys and answers how many existed', async () => {
    const [a, b, missing] = [key('del-a'), key('del-b'), key('del-missing')];
    await store.set(a, '1');
    await store.set(b, '2', 60);
    expect(await store.del(a, b, missing)).to.equal(2);
    expect(await store.get(a)).to.equal(null);
    expect(await store.get(b)).to.equal(null);
    expect(await store.del(a)).to.equal(0);
    expect(await store.del()).to.equal(0);
  });

  it('answers ttl -2 for a missing key, -1 without expiry, and the seconds left with one', async () => {
    const [missing, forever, expiring] = [key('ttl-missing'), key('ttl-forever'), key('ttl-expiring')];
    expect(await store.ttl(missing)).to.equal(-2);
    await store.set(forever, 'x');
    expect(await store.ttl(forever)).to.equal(-1);
    await store.set(expiring, 'x', 100);
    expect(await store.ttl(expiring)).to.be.within(99, 100);
  });

  it('drops a value when its time to live is over', async () => {
    const k = key('expiry');
    await store.set(k, 'short-lived', 1);
    expect(await store.get(k)).to.equal('short-lived');
    await sleep(1_200);
    expect(await store.get(k)).to.equal(null);
    expect(await store.ttl(k)).to.equal(-2);
    expect(await store.del(k)).to.equal(0);
  });

  it('removes the expiry when a value is set again without a ttl', async () => {
    const k = key('persist');
    await store.set(k, 'a', 100);
    await store.set(k, 'b');
    expect(await store.ttl(k)).to.equal(-1);
    expect(await store.get(k)).to.equal('b');
  });

  it('getAndTouch answers the value and restarts its time to live', async () => {
    const k = key('touch');
    await store.set(k, 'session', 2);
    await sleep(1_100);
    expect(await store.getAndTouch(k, 3)).to.equal('session');
    expect(await store.ttl(k)).to.be.within(2, 3);
    // Past the first two seconds: without the touch it would be gone by now.
    await sleep(1_100);
    expect(await store.get(k)).to.equal('session');
    expect(await store.ttl(k)).to.be.within(1, 2);
  });

  it('getAndTouch answers null for a missing key and does not create it', async () => {
    const k = key('touch-missing');
    expect(await store.getAndTouch(k, 60)).to.equal(null);
    expect(await store.ttl(k)).to.equal(-2);
  });

  it('setIfAbsent writes once, answers false after that and keeps the first value', async () => {
    const k = key('once');
    expect(await store.setIfAbsent(k, 'first', 60)).to.equal(true);
    expect(await store.setIfAbsent(k, 'second', 60)).to.equal(false);
    expect(await store.get(k)).to.equal('first');
    expect(await store.ttl(k)).to.be.within(59, 60);
    await store.del(k);
    expect(await store.setIfAbsent(k, 'third', 60)).to.equal(true);
    expect(await store.get(k)).to.equal('third');
  });

  it('setIfAbsent writes over a value that has expired', async () => {
    const k = key('once-expired');
    await store.set(k, 'old', 1);
    await sleep(1_200);
    expect(await store.setIfAbsent(k, 'new', 60)).to.equal(true);
    expect(await store.get(k)).to.equal('new');
  });

  it('getFollowing reads keys and the key the last one names, as bytes, in one step', async () => {
    const [a, version, missing] = [key('follow-a'), key('follow-version'), key('follow-missing')];
    const page = `${key('follow-page')}:`;
    await store.set(a, 'yes');
    await store.set(version, '41');
    // Bytes as they were written, UTF-8 beyond ASCII included.
    await store.set(`${page}41:desc`, '"etag"\n{"text":"héllo ✓"}');
    const hit = await store.getFollowing([a, missing, version], { prefix: page, suffix: ':desc' });
    expect(hit.values).to.deep.equal(['yes', null, '41']);
    expect(hit.followed?.toString('utf8')).to.equal('"etag"\n{"text":"héllo ✓"}');
    // The last key names a key that is not there; or the last key itself is missing.
    const miss = await store.getFollowing([version], { prefix: page, suffix: ':asc' });
    expect(miss).to.deep.equal({ values: ['41'], followed: null });
    const none = await store.getFollowing([a, missing], { prefix: page, suffix: ':desc' });
    expect(none).to.deep.equal({ values: ['yes', null], followed: null });
    expect(await store.getFollowing([], { prefix: page, suffix: '' })).to.deep.equal({
      values: [],
      followed: null,
    });
  });

  it('set takes bytes and keeps them exactly: getFollowing answers the same bytes, get their text', async () => {
    const [version, page] = [key('bytes-version'), `${key('bytes-page')}:`];
    await store.set(version, '7');
    const bytes = Buffer.concat([Buffer.from('"etag"\n{"text":"héllo ✓"}'), Buffer.from([0xff, 0x00, 0x80])]);
    await store.set(`${page}7:asc`, bytes, 60);
    // The writer reusing its buffer changes nothing stored.
    bytes.fill(0);
    const read = await store.getFollowing([version], { prefix: page, suffix: ':asc' });
    expect(
      read.followed?.equals(
        Buffer.concat([Buffer.from('"etag"\n{"text":"héllo ✓"}'), Buffer.from([0xff, 0x00, 0x80])]),
      ),
    ).to.equal(true);
    const text = key('bytes-text');
    await store.set(text, Buffer.from('plain ✓'));
    expect(await store.get(text)).to.equal('plain ✓');
    expect(await store.ttl(`${page}7:asc`)).to.be.within(1, 60);
  });

  it('getFollowing stays inside its key prefix', async () => {
    const other = await openStore(`${prefix}follow-other-${uniqueTag()}:`);
    const k = key('follow-prefixed');
    await other.set(k, '7');
    await other.set(`${k}:page:7`, 'theirs');
    await store.set(`${k}:page:7`, 'mine');
    expect(
      (await other.getFollowing([k], { prefix: `${k}:page:`, suffix: '' })).followed?.toString(),
    ).to.equal('theirs');
    expect(await store.getFollowing([k], { prefix: `${k}:page:`, suffix: '' })).to.deep.equal({
      values: [null],
      followed: null,
    });
  });

  it('keeps stores with different key prefixes apart', async () => {
    const a = await openStore(`${prefix}a:`);
    const b = await openStore(`${prefix}b:`);
    const k = 'shared-name';
    await a.set(k, 'from a', 60);
    expect(await b.get(k)).to.equal(null);
    expect(await b.ttl(k)).to.equal(-2);
    expect(await b.getAndTouch(k, 60)).to.equal(null);
    expect(await b.del(k)).to.equal(0);
    expect(await b.setIfAbsent(k, 'from b', 60)).to.equal(true);
    expect(await a.get(k)).to.equal('from a');
    expect(await b.get(k)).to.equal('from b');
    expect(await store.get(k)).to.equal(null);
  });

  it('answers ping with true', async () => {
    expect(await store.ping(1_000)).to.equal(true);
  });
}

describe('Store conformance', () => {
  describe('MemoryStore (memory://)', () => {
    describeStore(async () => memoryTarget());
  });

  const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');
  describeRealService('RedisStore', redis, (url) => {
    describeStore(async () => {
      if (url === undefined) throw new Error('TEST_REDIS_URL is not set');
      return redisTarget(url);
    });

    describe('on the server', () => {
      let raw: Redis | undefined;
      let store: RedisStore | undefined;
      const prefix = `test-store-${uniqueTag()}:`;

      before(async () => {
        raw = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await raw.connect();
        store = await new RedisStore(url!, prefix).connect();
      });

      after(async () => {
        await store?.close();
        if (raw) {
          const left = await keysUnder(raw, prefix);
          if (left.length > 0) await raw.del(...left);
          await raw.quit();
        }
      });

      it('stores every key under its prefix, with the expiry it was given', async () => {
        await store!.set('k', 'v', 60);
        expect(await keysUnder(raw!, prefix)).to.deep.equal([`${prefix}k`]);
        expect(await raw!.get(`${prefix}k`)).to.equal('v');
        expect(await raw!.ttl(`${prefix}k`)).to.be.within(59, 60);
        expect(await store!.del('k')).to.equal(1);
        expect(await keysUnder(raw!, prefix)).to.deep.equal([]);
      });

      it('answers ping with false once it is closed', async () => {
        const other = await new RedisStore(url!, `${prefix}closing:`).connect();
        expect(await other.ping(500)).to.equal(true);
        await other.close();
        const started = Date.now();
        expect(await other.ping(500)).to.equal(false);
        expect(Date.now() - started).to.be.below(1_000);
      });
    });
  });
});

describe('RedisStore against a server that does not answer (redis://127.0.0.1:1)', () => {
  const url = 'redis://127.0.0.1:1';
  let stores: RedisStore[] = [];
  const unreachable = (): RedisStore => {
    const store = new RedisStore(url, 'test-store-unreachable:');
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    for (const store of stores) await store.close();
    stores = [];
  });

  it('fails connect() quickly', async () => {
    const store = unreachable();
    const started = Date.now();
    const err = await rejectionOf(() => store.connect());
    expect(err).to.be.instanceOf(DependencyUnavailableError);
    // Named for the operator, with the URL as configured (a password would be masked).
    expect(err.message).to.contain('Redis at redis://127.0.0.1:1');
    expect(Date.now() - started).to.be.below(2_500);
  });

  it('fails connectStore() quickly for a redis:// URL', async () => {
    const started = Date.now();
    await rejectionOf(() => connectStore(loadConfig({ REDIS_URL: url })));
    expect(Date.now() - started).to.be.below(2_500);
  });

  it('stops trying to reconnect after a failed connect(), so nothing is left running', async () => {
    const store = unreachable();
    await rejectionOf(() => store.connect());
    let reconnects = 0;
    store.client.on('reconnecting', () => reconnects++);
    // The retry strategy waits 200 ms, 400 ms, ... between attempts.
    await sleep(1_000);
    expect(reconnects).to.equal(0);
  });

  it('answers ping with false within its timeout', async () => {
    const store = unreachable();
    await rejectionOf(() => store.connect());
    const started = Date.now();
    expect(await store.ping(500)).to.equal(false);
    expect(Date.now() - started).to.be.below(1_000);
  });

  it('rejects commands at once instead of queueing them', async () => {
    const store = unreachable();
    await rejectionOf(() => store.connect());
    const started = Date.now();
    await rejectionOf(() => store.get('k'));
    await rejectionOf(() => store.set('k', 'v', 60));
    await rejectionOf(() => store.setIfAbsent('k', 'v', 60));
    await rejectionOf(() => store.getAndTouch('k', 60));
    await rejectionOf(() => store.ttl('k'));
    await rejectionOf(() => store.del('k'));
    expect(Date.now() - started).to.be.below(1_000);
  });

  it('rejects commands at once when connect() was never called', async () => {
    const store = unreachable();
    const started = Date.now();
    await rejectionOf(() => store.get('k'));
    expect(await store.ping(500)).to.equal(false);
    expect(Date.now() - started).to.be.below(1_000);
  });

  it('closes without hanging', async () => {
    const store = unreachable();
    await rejectionOf(() => store.connect());
    const started = Date.now();
    await store.close();
    await store.close();
    expect(Date.now() - started).to.be.below(1_000);
  });
});

describe('MemoryStore', () => {
  it('forgets everything when closed', async () => {
    const store = new MemoryStore('p:');
    await store.set('k', 'v');
    await store.close();
    expect(await store.get('k')).to.equal(null);
  });
});
