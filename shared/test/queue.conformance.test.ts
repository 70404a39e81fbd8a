/**
 * One conformance suite for the Queue interface, run against MemoryQueue (always) and AmqpQueue
 * (TEST_AMQP_URL) in one run. Every test declares its own topology and deletes it afterwards (see
 * support/queue-harness.ts). What only RabbitMQ does is in queue.amqp.test.ts, what only
 * MemoryQueue does in queue.memory.test.ts.
 */
import { expect } from 'chai';
import { createLogger } from '../src/logger.ts';
import { QueueError, type QueueJob } from '../src/queue/index.ts';
import {
  amqpService,
  amqpTarget,
  deferred,
  memoryTarget,
  options,
  QUIET_MS,
  useQueues,
  waitFor,
  recordingLogger,
  type Body,
  type QueueTarget,
} from './support/queue-harness.ts';
import { describeRealService, rejectionOf, sleep } from './support/real-services.ts';

function describeQueue(open: () => Promise<QueueTarget>): void {
  const ctx = useQueues(open);
  const { openQueue } = ctx;

  it('is the backend its URL names', async () => {
    const queue = await openQueue();
    expect(queue.backend).to.equal(ctx.target.backend);
  });

  it('delivers a published job with a copy of its body, as attempt 1', async () => {
    const queue = await openQueue();
    const body = { id: 'job-1', phrase: 'hello', nested: { list: [1, 2] } };
    await queue.publish(body);
    body.nested.list.push(3);
    const jobs: QueueJob<typeof body>[] = [];
    await queue.consume<typeof body>(async (job) => {
      jobs.push(job);
    }, options);
    await waitFor('the delivery', () => jobs.length === 1);
    expect(jobs[0]).to.deep.equal({
      body: { id: 'job-1', phrase: 'hello', nested: { list: [1, 2] } },
      attempt: 1,
      lastAttempt: false,
      redelivered: false,
    });
  });

  it('calls the first attempt the last when maxAttempts is 1', async () => {
    const queue = await openQueue();
    const jobs: QueueJob<Body>[] = [];
    await queue.consume<Body>(
      async (job) => {
        jobs.push(job);
      },
      { prefetch: 1, maxAttempts: 1 },
    );
    await queue.publish({ id: 'only' });
    await waitFor('the delivery', () => jobs.length === 1);
    expect(jobs[0]).to.include({ attempt: 1, lastAttempt: true, redelivered: false });
  });

  it('never runs the handler inside publish', async () => {
    const queue = await openQueue();
    let calls = 0;
    await queue.consume(async () => {
      calls++;
    }, options);
    const publishing = queue.publish({ id: 'async' });
    expect(calls).to.equal(0);
    await publishing;
    await waitFor('the delivery', () => calls === 1);
  });

  it('acknowledges a job whose handler resolves: it is never delivered again', async () => {
    const first = await openQueue();
    const ids: string[] = [];
    const subscription = await first.consume<Body>(
      async (job) => {
        ids.push(job.body.id);
      },
      { prefetch: 5, maxAttempts: 3 },
    );
    for (const id of ['a', 'b', 'c']) await first.publish({ id });
    await waitFor('three deliveries', () => ids.length === 3);
    await sleep(QUIET_MS);
    expect(ids).to.deep.equal(['a', 'b', 'c']);

    // An unacknowledged job would go back to the queue when its consumer goes away.
    await subscription.cancel();
    await first.close();
    const second = await openQueue();
    const later: string[] = [];
    await second.consume<Body>(async (job) => {
      later.push(job.body.id);
    }, options);
    await sleep(QUIET_MS);
    expect(later).to.deep.equal([]);
    expect(await second.deadLetterCount()).to.equal(0);
  });

  it('runs at most `prefetch` jobs at once', async () => {
    const queue = await openQueue();
    for (let i = 0; i < 5; i++) await queue.publish({ id: `slow-${i}` });
    let running = 0;
    let most = 0;
    let done = 0;
    await queue.consume(
      async () => {
        running++;
        most = Math.max(most, running);
        await sleep(100);
        running--;
        done++;
      },
      { prefetch: 2, maxAttempts: 3 },
    );
    await waitFor('five jobs done', () => done === 5);
    expect(most).to.equal(2);
  });

  it('retries a job whose handler throws, then dead-letters it after maxAttempts', async () => {
    const logger = recordingLogger();
    const queue = await openQueue(logger);
    const seen: Array<Omit<QueueJob<Body>, 'body'>> = [];
    await queue.consume<Body>(async ({ body, ...job }) => {
      expect(body).to.deep.equal({ id: 'poison' });
      seen.push(job);
      throw new Error('always fails');
    }, options);
    await queue.publish({ id: 'poison' });
    await waitFor('the dead letter', async () => (await queue.deadLetterCount()) === 1);
    await sleep(QUIET_MS);
    expect(seen).to.deep.equal([
      { attempt: 1, lastAttempt: false, redelivered: false },
      { attempt: 2, lastAttempt: false, redelivered: false },
      { attempt: 3, lastAttempt: true, redelivered: false },
    ]);
    expect(await queue.deadLetterCount()).to.equal(1);
    expect(logger.records.filter((r) => r.level === 'warn').map((r) => r.msg)).to.deep.equal([
      'job failed on its last attempt: dead-lettered',
    ]);
  });

  it('runs a job that failed once again, and keeps it out of the dead-letter queue when it succeeds', async () => {
    const queue = await openQueue();
    const attempts: number[] = [];
    await queue.consume<Body>(async (job) => {
      attempts.push(job.attempt);
      if (job.attempt === 1) throw new Error('transient');
    }, options);
    await queue.publish({ id: 'flaky' });
    await waitFor('the retry', () => attempts.length === 2);
    await sleep(QUIET_MS);
    expect(attempts).to.deep.equal([1, 2]);
    expect(await queue.deadLetterCount()).to.equal(0);
  });

  it('counts a handler that throws synchronously as a failed attempt', async () => {
    const queue = await openQueue();
    const attempts: number[] = [];
    const handler = (job: QueueJob<Body>): Promise<void> => {
      attempts.push(job.attempt);
      throw new Error('thrown before any promise');
    };
    await queue.consume<Body>(handler, { prefetch: 1, maxAttempts: 2 });
    await queue.publish({ id: 'sync-throw' });
    await waitFor('the dead letter', async () => (await queue.deadLetterCount()) === 1);
    expect(attempts).to.deep.equal([1, 2]);
  });

  it('delivers the job of a consumer that died mid-job to another one, redelivered, exactly once', async () => {
    const dying = await openQueue();
    const survivor = await openQueue();
    const started = deferred();
    const release = deferred();
    const dyingJobs: QueueJob<Body>[] = [];
    await dying.consume<Body>(async (job) => {
      dyingJobs.push(job);
      started.resolve();
      await release.promise;
      // Even a failure reported after the connection died must not queue a retry.
      throw new Error('finished too late');
    }, options);
    await dying.publish({ id: 'orphan' });
    await started.promise;
    await dying.close();

    const survivorJobs: QueueJob<Body>[] = [];
    await survivor.consume<Body>(async (job) => {
      survivorJobs.push(job);
    }, options);
    await waitFor('the redelivery', () => survivorJobs.length === 1);
    release.resolve();
    await sleep(QUIET_MS);
    expect(dyingJobs).to.have.length(1);
    expect(survivorJobs).to.deep.equal([
      { body: { id: 'orphan' }, attempt: 1, lastAttempt: false, redelivered: true },
    ]);
    expect(await survivor.deadLetterCount()).to.equal(0);
  });

  it('close() does not wait for the handlers in flight', async () => {
    const queue = await openQueue();
    const started = deferred();
    const release = deferred();
    await queue.consume(async () => {
      started.resolve();
      await release.promise;
    }, options);
    await queue.publish({ id: 'held' });
    await started.promise;
    const before = Date.now();
    await queue.close();
    expect(Date.now() - before).to.be.below(1_000);
    release.resolve();
  });

  it('cancel() stops taking jobs and waits for the one in flight to finish and be acknowledged', async () => {
    const queue = await openQueue();
    const started = deferred();
    const handled: string[] = [];
    let finished = false;
    const subscription = await queue.consume<Body>(async (job) => {
      handled.push(job.body.id);
      started.resolve();
      await sleep(300);
      finished = true;
    }, options);
    await queue.publish({ id: 'in-flight' });
    await started.promise;
    await subscription.cancel();
    expect(finished).to.equal(true);
    await subscription.cancel();

    await queue.publish({ id: 'after-cancel' });
    const other = await openQueue();
    const later: string[] = [];
    await other.consume<Body>(async (job) => {
      later.push(job.body.id);
    }, options);
    await waitFor('the next job', () => later.length === 1);
    await sleep(QUIET_MS);
    expect(later).to.deep.equal(['after-cancel']);
    expect(handled).to.deep.equal(['in-flight']);
  });

  it('a handle closed while cancel() waits leaves the job in flight to be delivered again', async () => {
    const dying = await openQueue();
    const survivor = await openQueue();
    const started = deferred();
    const release = deferred();
    const subscription = await dying.consume(async () => {
      started.resolve();
      await release.promise;
    }, options);
    await dying.publish({ id: 'cancel-then-close' });
    await started.promise;
    const cancelling = subscription.cancel();
    await dying.close();
    release.resolve();
    await cancelling;
    const seen: QueueJob<Body>[] = [];
    await survivor.consume<Body>(async (job) => {
      seen.push(job);
    }, options);
    await waitFor('the redelivery', () => seen.length === 1);
    await sleep(QUIET_MS);
    expect(seen).to.deep.equal([
      { body: { id: 'cancel-then-close' }, attempt: 1, lastAttempt: false, redelivered: true },
    ]);
  });

  it('shares jobs between two consumers, each job handled once', async () => {
    const a = await openQueue();
    const b = await openQueue();
    const byA: string[] = [];
    const byB: string[] = [];
    await a.consume<Body>(async (job) => {
      byA.push(job.body.id);
      await sleep(20);
    }, options);
    await b.consume<Body>(async (job) => {
      byB.push(job.body.id);
      await sleep(20);
    }, options);
    const ids = Array.from({ length: 10 }, (_, i) => `shared-${i}`);
    for (const id of ids) await a.publish({ id });
    await waitFor('ten jobs', () => byA.length + byB.length === 10);
    await sleep(QUIET_MS);
    expect([...byA, ...byB].sort()).to.deep.equal([...ids].sort());
    expect(byA.length).to.be.above(0);
    expect(byB.length).to.be.above(0);
  });

  it('refuses to publish or consume once closed, and closes twice without harm', async () => {
    const queue = await openQueue();
    await queue.close();
    await queue.close();
    const started = Date.now();
    expect(await rejectionOf(() => queue.publish({ id: 'late' }))).to.be.instanceOf(QueueError);
    expect(await rejectionOf(() => queue.consume(async () => {}, options))).to.be.instanceOf(QueueError);
    expect(await rejectionOf(() => queue.deadLetterCount())).to.be.instanceOf(QueueError);
    expect(Date.now() - started).to.be.below(500);
  });

  it('refuses a body JSON cannot represent and options out of range', async () => {
    const queue = await openQueue();
    expect(await rejectionOf(() => queue.publish(undefined))).to.be.instanceOf(TypeError);
    expect(
      await rejectionOf(() => queue.consume(async () => {}, { prefetch: 0, maxAttempts: 3 })),
    ).to.be.instanceOf(RangeError);
    expect(
      await rejectionOf(() => queue.consume(async () => {}, { prefetch: 1, maxAttempts: 1.5 })),
    ).to.be.instanceOf(RangeError);
  });

  it('answers ping with true while open and false once closed', async () => {
    const queue = await openQueue();
    expect(await queue.ping(1_000)).to.equal(true);
    await queue.close();
    expect(await queue.ping(1_000)).to.equal(false);
  });

  it('takes a pino logger', async () => {
    const queue = await openQueue(createLogger('silent'));
    expect(await queue.ping()).to.equal(true);
  });
}

describe('Queue conformance', () => {
  describe('MemoryQueue (memory://)', () => {
    describeQueue(async () => memoryTarget());
  });

  describeRealService('AmqpQueue', amqpService, (url) => {
    describeQueue(async () => {
      if (url === undefined) throw new Error('TEST_AMQP_URL is not set');
      return amqpTarget(url);
    });
  });
});
