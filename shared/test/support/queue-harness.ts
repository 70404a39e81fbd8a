/**
 * What the queue suites share: the implementations under test (targets), a topology of each test's
 * own (`test_<random>_search_tasks_queue`, …) so parallel runs never see each other's jobs, the
 * hooks that open and clean up around every test (`useQueues`), and small helpers to wait on jobs.
 */
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { loadConfig } from '../../src/config.ts';
import {
  connectQueue,
  deleteMemoryQueue,
  deleteTopology,
  type Queue,
  type QueueLogger,
  type QueueTopology,
} from '../../src/queue/index.ts';
import { realService, sleep, uniqueTag } from './real-services.ts';

export interface QueueTarget {
  readonly backend: Queue['backend'];
  /** The AMQP_URL the handles are opened with. */
  readonly url: string;
  /** Deletes what a test declared, with the jobs left in it. */
  remove(topology: QueueTopology): Promise<void>;
  dispose(): Promise<void>;
}

export type AmqpTarget = QueueTarget & { raw: ChannelModel };

export const amqpService = realService('RabbitMQ', 'TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672');

export function memoryTarget(): QueueTarget {
  return {
    backend: 'memory',
    url: 'memory://',
    remove: async (topology) => deleteMemoryQueue(topology.queueName),
    dispose: async () => {},
  };
}

/** A raw channel for the checks a Queue does not offer; it must never leave an 'error' unheard. */
export async function rawChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel();
  channel.on('error', () => {});
  return channel;
}

export async function amqpTarget(url: string): Promise<AmqpTarget> {
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

export function uniqueTopology(): QueueTopology {
  const prefix = `test_${uniqueTag()}_`;
  return {
    exchange: `${prefix}search_tasks_exchange`,
    routingKey: 'search_tasks',
    queueName: `${prefix}search_tasks_queue`,
    deadLetterExchange: `${prefix}search_tasks_dlx`,
    deadLetterQueue: `${prefix}search_tasks_dead`,
  };
}

export function configFor(url: string, topology: QueueTopology) {
  return loadConfig({
    AMQP_URL: url,
    SEARCH_EXCHANGE: topology.exchange,
    SEARCH_ROUTING_KEY: topology.routingKey,
    SEARCH_QUEUE: topology.queueName,
    SEARCH_DEAD_LETTER_EXCHANGE: topology.deadLetterExchange,
    SEARCH_DEAD_LETTER_QUEUE: topology.deadLetterQueue,
  });
}

/** One suite's target and the current test's topology and handles. */
export interface QueueContext<T extends QueueTarget> {
  /** Set in the suite's `before` hook. */
  readonly target: T;
  /** This test's own topology, new before each test. */
  readonly topology: QueueTopology;
  /** A new handle on this test's queue: a second one is a second connection to the same queue. */
  openQueue(logger?: QueueLogger): Promise<Queue>;
  /** Closes `queue` after the test, as it does those openQueue opens. */
  track<Q extends Queue>(queue: Q): Q;
}

/**
 * The hooks of a queue suite: opens the target before it and disposes of it after; gives each test
 * a topology of its own, then closes the handles the test opened and deletes its topology.
 */
export function useQueues<T extends QueueTarget>(open: () => Promise<T>): QueueContext<T> {
  let target: T | undefined;
  let topology: QueueTopology;
  const opened: Queue[] = [];

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
    await target?.remove(topology);
  });

  const context: QueueContext<T> = {
    get target() {
      if (!target) throw new Error('the queue target is not open yet');
      return target;
    },
    get topology() {
      return topology;
    },
    track(queue) {
      opened.push(queue);
      return queue;
    },
    openQueue: async (logger) =>
      context.track(await connectQueue(configFor(context.target.url, topology), logger)),
  };
  return context;
}

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `condition` until it holds; fails after `timeoutMs` saying what it waited for. */
export async function waitFor(
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

export function recordingLogger(): QueueLogger & { records: Recorded[] } {
  const records: Recorded[] = [];
  const at =
    (level: Recorded['level']) =>
    (_obj: object, msg?: string): void => {
      records.push({ level, msg });
    };
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export type Body = { id: string };
export const options = { prefetch: 1, maxAttempts: 3 };
/** How long to watch for a delivery that must not happen. */
export const QUIET_MS = 300;
