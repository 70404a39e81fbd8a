import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MemoryStore, connectQueue } from '@messenger/shared';
import { startWorker, type SearchEngine } from '@messenger/consumer';
import { SearchRepository } from '../../consumer/src/search/search.repository.ts';
import { testConfig, uniqueTopology } from './support/backends.ts';
import { expectError } from './support/expect-error.ts';
import { readAll, sleep, startSearch, waitForStatus } from './support/search.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

// Each test here starts an app of its own (no worker, a failing one, a short TTL, no broker).
describe('search', function () {
  this.timeout(60_000);
  /** A word no other test run has used, so results are exactly this file's messages. */
  const tag = `zq${randomUUID().slice(0, 8).replace(/-/g, '')}`;

  describe('a task that has not finished, failed, or expired', () => {
    it('answers 409 task-not-complete while the task waits for a worker', async () => {
      const idle = await TestContext.start(uniqueTopology(), { worker: false });
      try {
        const user = await idle.registerUser('waiting');
        const taskId = await startSearch(user, 'still waiting');
        expect((await waitForStatus(user, taskId, ['WAITING'])).status).to.equal('WAITING');
        const answer = await user.api.GET('/v1/chats/search/{task_id}/messages', {
          params: { path: { task_id: taskId }, query: { limit: 5 } },
        });
        expectError(answer, 409, 'task-not-complete', /WAITING/);
      } finally {
        await idle.stop();
      }
    });

    it('retries a job that fails, then marks it FAILED (409 task-failed) and dead-letters it', async () => {
      const topology = uniqueTopology();
      const config = testConfig({ ...topology, SEARCH_MAX_ATTEMPTS: '3' });
      const idle = await TestContext.start({ ...topology, SEARCH_MAX_ATTEMPTS: '3' }, { worker: false });
      const queue = await connectQueue(config);
      let calls = 0;
      const failing: SearchEngine = {
        search: async () => {
          calls++;
          throw new Error('the search exploded');
        },
      };
      const worker = await startWorker({
        database: idle.database,
        store: idle.store,
        config,
        queue,
        logger: idle.app.logger,
        engine: failing,
      });
      try {
        const user = await idle.registerUser('failing');
        const taskId = await startSearch(user, 'this will fail');
        const status = await waitForStatus(user, taskId, ['FAILED']);
        expect(status.reason).to.be.a('string').and.not.equal('');
        expect(calls).to.equal(3);
        const answer = await user.api.GET('/v1/chats/search/{task_id}/messages', {
          params: { path: { task_id: taskId }, query: { limit: 5 } },
        });
        expectError(answer, 409, 'task-failed');
        const until = Date.now() + 5_000;
        while ((await queue.deadLetterCount()) < 1 && Date.now() < until) await sleep(50);
        expect(await queue.deadLetterCount()).to.equal(1);
      } finally {
        await worker.stop();
        await queue.close();
        await idle.stop();
      }
    });

    it('expires a finished task and its results after SEARCH_RESULT_TTL_SECONDS', async () => {
      const short = await TestContext.start({ ...uniqueTopology(), SEARCH_RESULT_TTL_SECONDS: '1' });
      try {
        const user = await short.registerUser('expiry');
        const taskId = await startSearch(user, 'gone soon');
        await waitForStatus(user, taskId);
        await sleep(1_300);
        const answer = await user.api.GET('/v1/chats/search/status/{task_id}', {
          params: { path: { task_id: taskId } },
        });
        expectError(answer, 404, 'task-not-found');
        expect(await short.store.get(`search:results:${taskId}`)).to.equal(null);
        expect(await short.store.get(`search:task:${taskId}`)).to.equal(null);
      } finally {
        await short.stop();
      }
    });
  });

  describe('when a consumer dies mid-job', () => {
    it('another consumer picks the job up and finishes it', async () => {
      const topology = uniqueTopology();
      const config = testConfig(topology);
      const idle = await TestContext.start(topology, { worker: false });
      const real = new SearchRepository(idle.database.db);
      let startedSlowJob!: () => void;
      const slowStarted = new Promise<void>((resolve) => (startedSlowJob = resolve));
      const slow: SearchEngine = {
        search: async (input) => {
          startedSlowJob();
          await sleep(10_000);
          return real.search(input);
        },
      };
      const deps = { database: idle.database, store: idle.store, config, logger: idle.app.logger };
      const firstQueue = await connectQueue(config);
      await startWorker({ ...deps, queue: firstQueue, engine: slow });
      const secondQueue = await connectQueue(config);
      let second: Awaited<ReturnType<typeof startWorker>> | undefined;
      try {
        const user = await idle.registerUser('crash');
        const chat = await idle.createChat(user);
        const id = await idle.post(user, chat, `${tag}crash survived`);
        const taskId = await startSearch(user, `${tag}crash`);
        await slowStarted;
        expect((await waitForStatus(user, taskId, ['IN_PROCESS'])).status).to.equal('IN_PROCESS');
        await firstQueue.close(); // the first consumer dies with the job unacknowledged
        second = await startWorker({ ...deps, queue: secondQueue });
        const done = await waitForStatus(user, taskId);
        expect(done.status).to.equal('SUCCESS');
        expect((await readAll(user, taskId)).map((h) => h.message_id)).to.deep.equal([id]);
      } finally {
        await second?.stop();
        await secondQueue.close();
        await idle.stop();
      }
    });
  });

  describe('when the broker cannot take the job', () => {
    it('answers 503 service-unavailable and leaves no task behind', async () => {
      const written: string[] = [];
      const store = new (class extends MemoryStore {
        override async set(key: string, value: string, ttl?: number) {
          written.push(key);
          return super.set(key, value, ttl);
        }
      })(`broker-down-${uniqueName()}:`);
      const down = await TestContext.start(
        { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' },
        { store, worker: false },
      );
      try {
        const user = await down.registerUser('nobroker');
        const answer = await user.api.POST('/v1/chats/search', { body: { message: 'anybody there' } });
        expectError(answer, 503, 'service-unavailable', /queue/);
        const taskKeys = written.filter((k) => k.startsWith('search:task:'));
        expect(taskKeys).to.have.length(1);
        expect(await store.get(taskKeys[0]!)).to.equal(null);
        // and the rest of the API is unaffected
        expect(
          (await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } })).response.status,
        ).to.equal(200);
      } finally {
        await down.stop();
        await store.close();
      }
    });
  });
});
