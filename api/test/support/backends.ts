/**
 * The backends one test run uses: real PostgreSQL and Redis when DATABASE_URL / REDIS_URL name them,
 * else the embedded PGlite and memory store. Opened once per run and shared by every app a test
 * starts (each test makes its own users and chats, so they never see each other's data).
 */
import { randomBytes } from 'node:crypto';
import {
  connectDatabase,
  connectStore,
  loadConfig,
  migrate,
  type Config,
  type Database,
  type Store,
} from '@messenger/shared';

/** A prefix unique to this run, so runs sharing one Redis never collide. */
export const RUN_ID = randomBytes(4).toString('hex');

/** The environment tests build configs from: the process's, with test defaults. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: process.env.DATABASE_URL ?? 'pglite://memory',
    REDIS_URL: process.env.REDIS_URL ?? 'memory://',
    AMQP_URL: process.env.AMQP_URL ?? 'memory://',
    REDIS_KEY_PREFIX: `test-${RUN_ID}:`,
    // Unique topology per run, so runs sharing one RabbitMQ never see each other's jobs.
    SEARCH_EXCHANGE: `test_${RUN_ID}_search_tasks_exchange`,
    SEARCH_QUEUE: `test_${RUN_ID}_search_tasks_queue`,
    SEARCH_DEAD_LETTER_EXCHANGE: `test_${RUN_ID}_search_tasks_dlx`,
    SEARCH_DEAD_LETTER_QUEUE: `test_${RUN_ID}_search_tasks_dead`,
    AUTH_DISABLED: 'false',
    // Tests register hundreds of users from one address; the throttling tests turn it on.
    THROTTLING: 'off',
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(testEnv(overrides));
}

/** Topologies this run declared on RabbitMQ, deleted at the end so nothing is left in the broker. */
const topologies = new Set<string>([RUN_ID]);

/** Env overrides for a queue topology of its own (an app that must not share jobs with the others). */
export function uniqueTopology(): Record<string, string> {
  const id = `${RUN_ID}_${randomBytes(3).toString('hex')}`;
  topologies.add(id);
  return {
    SEARCH_EXCHANGE: `test_${id}_search_tasks_exchange`,
    SEARCH_QUEUE: `test_${id}_search_tasks_queue`,
    SEARCH_DEAD_LETTER_EXCHANGE: `test_${id}_search_tasks_dlx`,
    SEARCH_DEAD_LETTER_QUEUE: `test_${id}_search_tasks_dead`,
  };
}

async function deleteTopologies(url: string): Promise<void> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const id of topologies) {
      await channel.deleteQueue(`test_${id}_search_tasks_queue`);
      await channel.deleteQueue(`test_${id}_search_tasks_dead`);
      await channel.deleteExchange(`test_${id}_search_tasks_exchange`);
      await channel.deleteExchange(`test_${id}_search_tasks_dlx`);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

let shared: Promise<{ database: Database; store: Store }> | undefined;

/** The run's database (migrated) and store, opened on first use. */
export function sharedBackends(): Promise<{ database: Database; store: Store }> {
  shared ??= (async () => {
    const config = testConfig();
    const database = await connectDatabase(config);
    await migrate(database);
    const store = await connectStore(config);
    return { database, store };
  })();
  return shared;
}

/** Removes every Redis key this run wrote (sessions, caches, counters, tasks: all under `test-<run>`). */
async function deleteRunKeys(url: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `test-${RUN_ID}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function closeSharedBackends(): Promise<void> {
  const { queue, store: storeConfig } = testConfig();
  if (queue.backend === 'amqp') await deleteTopologies(queue.url);
  // The app's Redis, and the one the process tests use (TEST_REDIS_URL) in the embedded run.
  const redisUrls = new Set([
    storeConfig.backend === 'redis' ? storeConfig.url : undefined,
    process.env.TEST_REDIS_URL,
  ]);
  for (const url of redisUrls) if (url) await deleteRunKeys(url);
  if (!shared) return;
  const { database, store } = await shared;
  shared = undefined;
  await store.close();
  await database.close();
}

/** What this run is testing against, for the log. */
export function describeBackends(): string {
  const config = testConfig();
  return `database=${config.database.backend} store=${config.store.backend} queue=${config.queue.backend}`;
}
