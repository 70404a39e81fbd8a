/**
 * One conformance suite for the Queue interface, run against MemoryQueue (always) and AmqpQueue
 * (TEST_AMQP_URL). Every test declares its own topology (`test_<random>_search_tasks_queue`, …), so
 * parallel runs never see each other's jobs, and deletes it afterwards.
 */
import { createServer, connect as connectTcp, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import {
  AmqpQueue,
  ATTEMPT_HEADER,
  connectQueue,
  deleteMemoryQueue,
  deleteTopology,
  QueueError,
  type Queue,
  type QueueJob,
  type QueueLogger,
  type QueueTopology,
} from '../src/queue/index.ts';
import { describeRealService, realService, rejectionOf, sleep, uniqueTag } from './support/real-services.ts';

interface QueueTarget {
  readonly backend: Queue['backend'];
  /** The AMQP_URL the handles are opened with. */
  readonly url: string;
  /** Deletes what a test declared, with the jobs left in it. */
  remove(topology: QueueTopology): Promise<void>;
  dispose(): Promise<void>;
}

function memoryTarget(): QueueTarget {
  return {
    backend: 'memory',
    url: 'memory://',
    remove: async (topology) => deleteMemoryQueue(topology.queueName),
    dispose: async () => {},
  };
}

/** A raw channel for the checks a Queue does not offer; it must never leave an 'error' unheard. */
async function rawChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel();
  channel.on('error', () => {});
  return channel;
}

async function amqpTarget(url: string): Promise<QueueTarget & { raw: ChannelModel }> {
  const raw = await amqpConnect(url);
  raw.on('error', () => {});
  return {
    backend: 'amqp',
    url,
    raw,
    async remove(topology) {
      const channel = await rawChannel(raw);
      try {
        await deleteTopology(channel, topology);
      } finally {
        await channel.close().catch(() => {});
      }
    },
    async dispose() {
      await raw.close();
    },
  };
}

function uniqueTopology(): QueueTopology {
  const prefix = `test_${uniqueTag()}_`;
  return {
    exchange: `${prefix}search_tasks_exchange`,
    routingKey: 'search_tasks',
    queueName: `${prefix}search_tasks_queue`,
    deadLetterExchange: `${prefix}search_tasks_dlx`,
    deadLetterQueue: `${prefix}search_tasks_dead`,
  };
}

function configFor(url: string, topology: QueueTopology) {
  return loadConfig({
    AMQP_URL: url,
    SEARCH_EXCHANGE: topology.exchange,
    SEARCH_ROUTING_KEY: topology.routingKey,
    SEARCH_QUEUE: topology.queueName,
    SEARCH_DEAD_LETTER_EXCHANGE: topology.deadLetterExchange,
    SEARCH_DEAD_LETTER_QUEUE: topology.deadLetterQueue,
  });
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `condition` until it holds; fails after `timeoutMs` saying what it waited for. */
async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Recorded {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string | undefined;
}

function recordingLogger(): QueueLogger & { records: Recorded[] } {
  const records: Recorded[] = [];
  const at =
    (level: Recorded['level']) =>
    (_obj: object, msg?: string): void => {
      records.push({ level, msg });
    };
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

type Body = { id: string };
const options = { prefetch: 1, maxAttempts: 3 };
/** How long to watch for a delivery that must not happen. */
const QUIET_MS = 300;

function describeQueue(open: () => Promise<QueueTarget>): void {
  let target: QueueTarget | undefined;
  let topology: QueueTopology;
  let opened: Queue[] = [];

  /** A new handle on this test's queue: a second one is a second connection to the same queue. */
  const openQueue = async (logger?: QueueLogger): Promise<Queue> => {
    const queue = await connectQueue(configFor(target!.url, topology), logger);
    opened.push(queue);
    return queue;
  };

  before(async function () {
    this.timeout(10_000);
    target = await open();
  });

  after(async () => {
    await target?.dispose();
  });

  beforeEach(function () {
    // Each test should take a couple of seconds at most, on RabbitMQ as in process.
    this.timeout(5_000);
    topology = uniqueTopology();
  });

  afterEach(async function () {
    this.timeout(10_000);
    for (const queue of opened.splice(0)) await queue.close();
    opened = [];
    await target?.remove(topology);
  });

  it('is the backend its URL names', async () => {
    const queue = await openQueue();
    expect(queue.backend).to.equal(target!.backend);
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

/**
 * A TCP proxy in front of the broker: stopping it is the broker going away (a restart), freezing it
 * is a broker that no longer answers. Handles opened through it see nothing else.
 */
class BrokerProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private frozen = false;
  port = 0;

  constructor(private readonly target: URL) {}

  /** The broker URL, through the proxy. */
  get url(): string {
    const url = new URL(this.target.href);
    url.host = `127.0.0.1:${this.port}`;
    return url.href;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connectTcp(Number(this.target.port || 5672), this.target.hostname);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.on('data', (chunk: Buffer) => {
          if (!this.frozen) to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.frozen = false;
  }

  /** Drops every connection and refuses new ones, until start() again (on the same port). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keeps the connections open but passes nothing on: the broker stops answering. */
  freeze(): void {
    this.frozen = true;
  }
}

describe('Queue conformance', () => {
  describe('MemoryQueue (memory://)', () => {
    describeQueue(async () => memoryTarget());

    it('keeps queues with different names apart', async () => {
      const [one, two] = [uniqueTopology(), uniqueTopology()];
      const a = await connectQueue(configFor('memory://', one));
      const b = await connectQueue(configFor('memory://', two));
      try {
        const seen: unknown[] = [];
        await b.consume(async (job) => {
          seen.push(job.body);
        }, options);
        await a.publish({ id: 'for-one' });
        await sleep(50);
        expect(seen).to.deep.equal([]);
      } finally {
        await a.close();
        await b.close();
        deleteMemoryQueue(one.queueName);
        deleteMemoryQueue(two.queueName);
      }
    });
  });

  const amqp = realService('RabbitMQ', 'TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672');
  describeRealService('AmqpQueue', amqp, (url) => {
    describeQueue(async () => {
      if (url === undefined) throw new Error('TEST_AMQP_URL is not set');
      return amqpTarget(url);
    });

    describe('on the broker', () => {
      let target: Awaited<ReturnType<typeof amqpTarget>> | undefined;
      let topology: QueueTopology;
      let queues: Queue[] = [];
      const openQueue = async (logger?: QueueLogger): Promise<Queue> => {
        const queue = await connectQueue(configFor(url!, topology), logger);
        queues.push(queue);
        return queue;
      };

      before(async () => {
        target = await amqpTarget(url!);
      });

      after(async () => {
        await target?.dispose();
      });

      beforeEach(function () {
        this.timeout(5_000);
        topology = uniqueTopology();
      });

      afterEach(async function () {
        this.timeout(10_000);
        for (const queue of queues.splice(0)) await queue.close();
        queues = [];
        await target?.remove(topology);
      });

      it('declares durable queues, the queue dead-lettering to the dead-letter queue', async () => {
        const queue = await openQueue();
        await queue.publish({ id: 'raw' });
        const channel = await rawChannel(target!.raw);
        try {
          expect((await channel.checkQueue(topology.deadLetterQueue)).messageCount).to.equal(0);
          const message = await channel.get(topology.queueName);
          if (message === false) throw new Error('the job is not in the queue');
          expect(message.properties).to.include({ contentType: 'application/json', deliveryMode: 2 });
          expect(message.properties.messageId).to.be.a('string').with.length.above(0);
          expect(message.properties.headers).to.deep.include({ [ATTEMPT_HEADER]: 1 });
          expect(JSON.parse(message.content.toString())).to.deep.equal({ id: 'raw' });
          channel.nack(message, false, false);
          await waitFor('the dead letter', async () => (await queue.deadLetterCount()) === 1);
          // Redeclaring with other arguments would fail: the queue has exactly these.
          await channel.assertQueue(topology.queueName, {
            durable: true,
            deadLetterExchange: topology.deadLetterExchange,
          });
        } finally {
          await channel.close().catch(() => {});
        }
      });

      it('dead-letters a message that is not JSON without running the handler', async () => {
        const queue = await openQueue();
        let calls = 0;
        await queue.consume(async () => {
          calls++;
        }, options);
        const channel = await rawChannel(target!.raw);
        channel.publish(topology.exchange, topology.routingKey, Buffer.from('not json {'));
        await channel.close();
        await waitFor('the dead letter', async () => (await queue.deadLetterCount()) === 1);
        expect(calls).to.equal(0);
      });

      it('rejects a publish no queue takes (unroutable) instead of losing the job', async () => {
        const queue = await openQueue();
        const channel = await rawChannel(target!.raw);
        await channel.deleteQueue(topology.queueName);
        await channel.close();
        const err = await rejectionOf(() => queue.publish({ id: 'nowhere' }));
        expect(err).to.be.instanceOf(QueueError);
        expect(err.message).to.match(/could not route/);
        // The publisher still works for the next job once the queue is back.
        const again = await openQueue();
        await again.publish({ id: 'somewhere' });
      });

      it('rejects connectQueue quickly when nothing listens, naming the URL without its password', async () => {
        const started = Date.now();
        const err = await rejectionOf(() =>
          connectQueue(configFor('amqp://guest:s3cret@127.0.0.1:1', topology)),
        );
        expect(Date.now() - started).to.be.below(2_000);
        expect(err).to.be.instanceOf(QueueError);
        expect(err.message).to.include('amqp://guest:***@127.0.0.1:1');
        expect(err.message).not.to.include('s3cret');
      });

      it('answers ping with false within its timeout once closed', async () => {
        const queue = new AmqpQueue(url!, topology);
        await queue.connect();
        queues.push(queue);
        expect(await queue.ping(500)).to.equal(true);
        await queue.close();
        const started = Date.now();
        expect(await queue.ping(500)).to.equal(false);
        expect(Date.now() - started).to.be.below(600);
      });

      describe('through a proxy', () => {
        let proxy: BrokerProxy;

        beforeEach(async () => {
          proxy = new BrokerProxy(new URL(url!));
          await proxy.start();
        });

        afterEach(async () => {
          await proxy.stop();
        });

        it('reconnects with backoff while the broker is away, then consumes again (the job in flight redelivered)', async () => {
          const logger = recordingLogger();
          const queue = new AmqpQueue(proxy.url, topology, {
            logger,
            reconnectInitialDelayMs: 50,
            reconnectMaxDelayMs: 200,
          });
          await queue.connect();
          queues.push(queue);
          const jobs: QueueJob<Body>[] = [];
          const firstStarted = deferred();
          const release = deferred();
          await queue.consume<Body>(async (job) => {
            jobs.push(job);
            firstStarted.resolve();
            if (jobs.length === 1) await release.promise;
          }, options);
          await queue.publish({ id: 'before-restart' });
          await firstStarted.promise;

          await proxy.stop();
          await waitFor('the drop to be noticed', () => !queue.connected, 1_000);
          const started = Date.now();
          expect(await rejectionOf(() => queue.publish({ id: 'while-down' }))).to.be.instanceOf(QueueError);
          expect(await queue.ping(200)).to.equal(false);
          expect(Date.now() - started).to.be.below(500);
          await waitFor(
            'two failed reconnect attempts',
            () => logger.records.filter((r) => r.msg === 'reconnecting to RabbitMQ failed').length >= 2,
          );

          await proxy.start();
          await waitFor('the reconnection', () => queue.connected);
          expect(await queue.ping(1_000)).to.equal(true);
          await waitFor('the redelivery', () => jobs.length === 2);
          release.resolve();
          await queue.publish({ id: 'after-restart' });
          await waitFor('the new job', () => jobs.length === 3);
          await sleep(QUIET_MS);
          expect(jobs.map((j) => [j.body.id, j.attempt, j.redelivered])).to.deep.equal([
            ['before-restart', 1, false],
            ['before-restart', 1, true],
            ['after-restart', 1, false],
          ]);
          expect(logger.records.map((r) => r.msg)).to.include.members([
            'the connection to RabbitMQ was lost: reconnecting',
            'reconnected to RabbitMQ',
          ]);
        });

        it('rejects connect() within its timeout when the broker takes the connection but never answers', async () => {
          proxy.freeze();
          const queue = new AmqpQueue(proxy.url, topology, { connectTimeoutMs: 500 });
          const started = Date.now();
          const err = await rejectionOf(() => queue.connect());
          expect(Date.now() - started).to.be.within(400, 1_500);
          expect(err).to.be.instanceOf(QueueError);
          expect(err.message).to.include(`127.0.0.1:${proxy.port}`);
          await queue.close();
        });

        it('rejects a publish the broker does not confirm within the timeout; ping and close do not hang', async () => {
          const queue = new AmqpQueue(proxy.url, topology, { publishTimeoutMs: 300 });
          await queue.connect();
          queues.push(queue);
          proxy.freeze();
          let started = Date.now();
          const err = await rejectionOf(() => queue.publish({ id: 'unconfirmed' }));
          expect(Date.now() - started).to.be.within(250, 1_000);
          expect(err).to.be.instanceOf(QueueError);
          expect(err.message).to.match(/did not confirm/);
          started = Date.now();
          expect(await queue.ping(300)).to.equal(false);
          expect(Date.now() - started).to.be.below(600);
          started = Date.now();
          await queue.close();
          expect(Date.now() - started).to.be.below(2_000);
        });
      });
    });
  });
});
