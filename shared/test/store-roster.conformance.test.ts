/**
 * The Store's rosters (a user's event streams across API instances), one suite run against
 * MemoryStore and RedisStore (TEST_REDIS_URL), under a key prefix of the run's own.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.ts';
import { connectStore, type Store } from '../src/store/index.ts';
import { describeRealService, realService, sleep, uniqueTag } from './support/real-services.ts';

function describeRoster(redisUrl: string | undefined): void {
  const prefix = `test-roster-${uniqueTag()}:`;
  let store: Store | undefined;
  let n = 0;
  const key = () => `roster:${++n}`;

  before(async () => {
    store = await connectStore(loadConfig({ REDIS_URL: redisUrl ?? 'memory://', REDIS_KEY_PREFIX: prefix }));
  });
  // Also runs when the suite is skipped (no TEST_REDIS_URL), before() never having opened a store.
  after(async () => {
    if (!store) return;
    await store.close();
    if (!redisUrl) return;
    const raw = new Redis(redisUrl);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    await raw.quit();
  });

  it('keeps the newest members and answers the ones it drops, oldest first', async () => {
    const k = key();
    expect(await store!.addToRoster(k, 'a', 2, 60)).to.deep.equal([]);
    await sleep(5);
    expect(await store!.addToRoster(k, 'b', 2, 60)).to.deep.equal([]);
    await sleep(5);
    expect(await store!.addToRoster(k, 'c', 2, 60)).to.deep.equal(['a']);
    await sleep(5);
    expect(await store!.addToRoster(k, 'd', 1, 60)).to.deep.equal(['b', 'c']);
  });

  it('forgets a removed member, and a member added again is the newest', async () => {
    const k = key();
    for (const m of ['a', 'b', 'c']) {
      await store!.addToRoster(k, m, 3, 60);
      await sleep(5);
    }
    await store!.removeFromRoster(k, 'b');
    await store!.removeFromRoster(k, 'not there');
    await store!.addToRoster(k, 'a', 3, 60);
    await sleep(5);
    expect(await store!.addToRoster(k, 'e', 2, 60)).to.deep.equal(['c']);
  });

  it('lets a roster expire after its last change', async function () {
    this.timeout(10_000);
    const k = key();
    await store!.addToRoster(k, 'a', 5, 1);
    await sleep(2_100);
    expect(await store!.addToRoster(k, 'b', 1, 60)).to.deep.equal([]);
  });
}

describe('Store rosters', () => {
  describe('MemoryStore (memory://)', () => describeRoster(undefined));
  const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');
  describeRealService('RedisStore', redis, (url) => describeRoster(url));
});
