/**
 * `make bench-search`: how long a search takes end to end on a chat of 100k messages: POST
 * /v1/chats/search, the job through RabbitMQ, the consumer's query, the results in Redis, until
 * the status reads SUCCESS. Runs the API and a worker in this process against real PostgreSQL,
 * Redis and RabbitMQ (their own database, key prefix and queue names; all removed afterwards).
 *
 * Then the same at scale (issue 14, bench/search-scale.ts): 1,000,000 messages in 2,000 chats, the
 * caller a member of 40 of them, and per query class (exact, phrase, stem, prefix, typo) the p50 and
 * p95 of the end-to-end time.
 *
 * Options (environment): BENCH_POSTGRES_URL (server, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_REDIS_URL, BENCH_AMQP_URL, BENCH_MESSAGES (default 100000; 0 skips that run), BENCH_ROUNDS
 * (default 9), BENCH_SCALE_MESSAGES (default 1000000; 0 skips the scale run), BENCH_SCALE_CHATS
 * (default 2000), BENCH_SCALE_MEMBER_CHATS (default 40), BENCH_SCALE_ROUNDS (per phrase, default 8),
 * BENCH_PREFIX_REACH (default 50000: after the scale run, the prefix class again for a caller whose
 * chats hold this many of its messages; 0 skips it).
 *
 * While working on the search: BENCH_KEEP_DATABASE=1 keeps the database (and prints its name)
 * instead of dropping it, for EXPLAIN (ANALYZE, BUFFERS) on what the run built; BENCH_DATABASE=<that
 * name> runs the scale tables again on it without seeding (use it with BENCH_MESSAGES=0; the
 * database is then kept). Redis keys and queues are always removed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectQueue, loadConfig } from '@messenger/shared';
import { startWorker } from '@messenger/consumer';
import { App } from '../api/src/app.ts';
import { SCALE_CLASSES, seedScale } from './search-scale.ts';
import { createDatabase, deleteRedisKeys, dropDatabase } from './setup.ts';

const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const amqpUrl = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const messages = Number(process.env.BENCH_MESSAGES ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const scale = {
  messages: Number(process.env.BENCH_SCALE_MESSAGES ?? 1_000_000),
  chats: Number(process.env.BENCH_SCALE_CHATS ?? 2_000),
  memberChats: Number(process.env.BENCH_SCALE_MEMBER_CHATS ?? 40),
  authors: 500,
};
const scaleRounds = Number(process.env.BENCH_SCALE_ROUNDS ?? 8);
const prefixReach = Number(process.env.BENCH_PREFIX_REACH ?? 50_000);
const reused = process.env.BENCH_DATABASE;
const keep = reused !== undefined || process.env.BENCH_KEEP_DATABASE === '1';

const id = randomBytes(4).toString('hex');
const database = reused ?? `messenger_bench_search_${id}`;
const databaseUrl = Object.assign(new URL(server), { pathname: `/${database}` }).toString();
const prefix = `bench-search-${id}:`;
const config = loadConfig({
  ...process.env,
  NODE_ENV: 'production',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  THROTTLING: 'off',
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  AMQP_URL: amqpUrl,
  SEARCH_EXCHANGE: `bench_${id}_x`,
  SEARCH_QUEUE: `bench_${id}_q`,
  SEARCH_DEAD_LETTER_EXCHANGE: `bench_${id}_dlx`,
  SEARCH_DEAD_LETTER_QUEUE: `bench_${id}_dlq`,
});

/** Varied text: common words, rarer ones, a typo target, Russian. */
const SEED_SQL = `
  insert into messages (chat_id, seq, user_id, text, created_at)
  select $1, g, $2,
    (array['hello world', 'running late again', 'see the message above', 'state-of-the-art design',
           'write to bob@example.com', 'новое сообщение', 'zeppelin over the city', 'lunch at noon?'])[1 + g % 8]
      || ' #' || g,
    now() - make_interval(secs => $3 - g)
  from generate_series(1, $3) as g`;

async function main(): Promise<void> {
  if (!reused) await createDatabase(server, database);
  let app: App | undefined;
  let queue: Awaited<ReturnType<typeof connectQueue>> | undefined;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  try {
    app = await App.create(config, { runWorker: false });
    queue = await connectQueue(config);
    worker = await startWorker({
      database: app.database,
      store: app.store,
      queue,
      config,
      logger: app.logger,
    });
    const base = await app.start();
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(base + path, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `session_id ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    /**
     * One search end to end: POST, poll the status until it is done; answers ms, result count, and
     * the service's own time from the task's creation to its end (its status's timestamps).
     */
    const timeSearch = async (
      phrase: string,
      token: string,
    ): Promise<{ ms: number; count: number; served: number }> => {
      const started = performance.now();
      const taskId = (await call('POST', '/v1/chats/search', { message: phrase }, token)).task_id as string;
      for (;;) {
        const status = await call('GET', `/v1/chats/search/status/${taskId}`, undefined, token);
        if (status.status === 'SUCCESS' || status.status === 'FAILED') {
          return {
            ms: performance.now() - started,
            count: Number(status.result_count),
            served: Date.parse(status.finished_at as string) - Date.parse(status.created_at as string),
          };
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    /** Registers the user (unless a reused database has it) and logs in; answers whether it was new. */
    const login = async (name: string) => {
      const user = { user_name: name, password: 'bench password' };
      const registered = (await call('POST', '/v1/auth/register', user)).user_id as string | undefined;
      const token = (await call('POST', '/v1/auth/login', user)).session_id as string;
      const me = (await call('GET', '/v1/users/me', undefined, token)).user_id as string;
      return { userId: me, token, fresh: registered !== undefined };
    };
    /** p50, p95 and max of each class's phrases, `scaleRounds` searches each, as table rows. */
    const timeClasses = async (classes: Array<[string, string[]]>, token: string) => {
      // One untimed round first: the first search of each phrase reads cold pages.
      for (const [, phrases] of classes) for (const phrase of phrases) await timeSearch(phrase, token);
      // "served": from the task's creation to its end, by the service's clock (whole ms).
      console.log(
        '| class | phrases | searches | results (each phrase) | p50 ms | p95 ms | max ms | served p50 / p95 ms |',
      );
      console.log('| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |');
      for (const [cls, phrases] of classes) {
        const times: number[] = [];
        const served: number[] = [];
        const counts: number[] = [];
        for (const phrase of phrases) {
          for (let i = 0; i < scaleRounds; i++) {
            const run = await timeSearch(phrase, token);
            times.push(run.ms);
            served.push(run.served);
            if (i === 0) counts.push(run.count);
          }
        }
        const at = (xs: number[], q: number) => {
          const sorted = [...xs].sort((a, b) => a - b);
          return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
        };
        console.log(
          `| ${cls} | ${phrases.join(', ')} | ${times.length} | ${counts.join(', ')} | ${fmt(at(times, 0.5))} | ` +
            `${fmt(at(times, 0.95))} | ${fmt(at(times, 1))} | ${at(served, 0.5)} / ${at(served, 0.95)} |`,
        );
      }
    };
    const fmt = (ms: number) => ms.toFixed(1);
    const client = new pg.Client({ connectionString: databaseUrl });
    // Dropping the database at the end ends this connection if an error left it open.
    client.on('error', () => {});
    await client.connect();

    if (messages > 0) {
      const { userId, token } = await login('bench');
      const chatId = (await call('POST', '/v1/chats', { chat_name: 'big' }, token)).chat_id as string;
      const seeded = Date.now();
      await client.query(SEED_SQL, [chatId, userId, messages]);
      await client.query(`update chats set last_message_seq = $2 where id = $1`, [chatId, messages]);
      await client.query('analyze');
      console.log(`seeded ${messages} messages in one chat in ${Date.now() - seeded} ms\n`);

      console.log('| phrase | results | median ms | min ms | max ms |');
      console.log('| --- | ---: | ---: | ---: | ---: |');
      for (const phrase of [
        'zeppelin',
        'hello world',
        'running',
        'сообщения',
        'mess',
        'bob@example.com',
        'helo wrold',
      ]) {
        const times: number[] = [];
        let count = 0;
        for (let i = 0; i < rounds; i++) {
          const run = await timeSearch(phrase, token);
          times.push(run.ms);
          count = run.count;
        }
        times.sort((a, b) => a - b);
        console.log(
          `| ${phrase} | ${count} | ${fmt(times[Math.floor(times.length / 2)]!)} | ${fmt(times[0]!)} | ${fmt(times.at(-1)!)} |`,
        );
      }
    }

    if (scale.messages > 0) {
      const { userId, token, fresh } = await login('bench-scale');
      const seeded = Date.now();
      if (fresh) await seedScale(client, userId, scale, `scale${id}`);
      const reachable = await reachableMessages(client, userId);
      console.log(
        `\n${fresh ? `seeded ${scale.messages} messages in ${scale.chats} chats in ${Math.round((Date.now() - seeded) / 1000)} s` : `reused ${database}`}; ` +
          `the caller is in ${scale.memberChats} chats (${reachable} messages)\n`,
      );
      await timeClasses(SCALE_CLASSES, token);

      if (prefixReach > 0) {
        // The same database, another caller: in as many chats as hold `prefixReach` messages.
        const wide = await login('bench-prefix');
        if (wide.fresh) await joinChatsHolding(client, wide.userId, prefixReach);
        const reach = await reachableMessages(client, wide.userId);
        console.log(`\nthe prefix class for a caller whose chats hold ${reach} messages\n`);
        await timeClasses(
          SCALE_CLASSES.filter(([cls]) => cls === 'prefix'),
          wide.token,
        );
      }
    }
    await client.end();
  } finally {
    await worker?.stop();
    const amqp = await import('amqplib');
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    for (const q of [config.queue.queueName, config.queue.deadLetterQueue]) await channel.deleteQueue(q);
    for (const x of [config.queue.exchange, config.queue.deadLetterExchange]) await channel.deleteExchange(x);
    await connection.close();
    await queue?.close();
    await app?.stop();
    await deleteRedisKeys(redisUrl, prefix);
    if (keep) console.log(`\nkept the database ${database} (BENCH_DATABASE=${database} runs on it again)`);
    else await dropDatabase(server, database);
  }
}

async function reachableMessages(client: pg.Client, userId: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `select count(*) as n from messages m join chat_members cm on cm.chat_id = m.chat_id where cm.user_id = $1`,
    [userId],
  );
  return Number(rows[0]!.n);
}

/** Makes the user a member of the scale run's chats, in name order, until they hold `reach` messages. */
async function joinChatsHolding(client: pg.Client, userId: string, reach: number): Promise<void> {
  await client.query(
    `insert into chat_members (chat_id, user_id)
     select id, $1 from (
       select id, sum(last_message_seq) over (order by chat_name) as upto
       from chats where chat_name like 'scale%-chat-%'
     ) c where upto <= $2`,
    [userId, reach],
  );
  await client.query('analyze chat_members');
}

await main();
