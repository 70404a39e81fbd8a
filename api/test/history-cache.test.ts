import { expect } from 'chai';
import { createLogger, DependencyUnavailableError, MemoryStore } from '@messenger/shared';
import { HistoryCache } from '../src/messages/history-cache.ts';

/** A memory store whose writes fail while `down` is set, as a Redis that stopped answering. */
class FlakyStore extends MemoryStore {
  down = false;

  override async incr(key: string): Promise<number> {
    if (this.down) throw new DependencyUnavailableError('store', 'down');
    return super.incr(key);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HistoryCache when a version bump does not reach the store', () => {
  let store: FlakyStore;
  let cache: HistoryCache;
  beforeEach(() => {
    store = new FlakyStore('history-cache-test:');
    cache = new HistoryCache(store, 60, createLogger('silent'));
  });
  afterEach(async () => {
    store.down = false;
    await cache.flush();
    await store.close();
  });

  it('reads the chat from the database (no version) until the bump lands, then caches again', async () => {
    const before = await cache.version('chat-1');
    expect(before).to.be.a('string');
    await cache.put('chat-1', before!, 'p', { messages: ['old'] });

    store.down = true;
    await cache.invalidate('chat-1');
    // The store still holds the old version, but this instance knows better.
    expect(await cache.version('chat-1')).to.equal(undefined);
    expect(await cache.version('chat-2')).to.be.a('string');

    store.down = false;
    await sleep(300);
    const after = await cache.version('chat-1');
    expect(after).to.be.a('string').and.not.equal(before);
    expect(await cache.get('chat-1', after!, 'p')).to.equal(undefined);
  });

  it('flush() makes one last try at the bumps still owed', async () => {
    const before = await cache.version('chat-3');
    store.down = true;
    await cache.invalidate('chat-3');
    store.down = false;
    await cache.flush();
    expect(await cache.version('chat-3')).to.not.equal(before);
  });
});
