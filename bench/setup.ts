/**
 * Everything around the load: the bench's own database and Redis namespace, and the data the
 * scenarios need. Users, sessions, chats and members go through the API (so they are exactly what
 * the API makes); the bulk history goes straight into PostgreSQL, which is what the API's
 * schema (migrations/) holds, because posting thousands of messages one by one would take minutes.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import type { SeedSize } from './options.ts';

/** The history page size the scenarios read. */
export const PAGE = 50;
/** Chats the post-50-chats scenario spreads its posts over (post-1-chat takes the first). */
export const SEND_CHATS = 50;
/** How deep history-depth-200 reads: pages 150 to 200 of PAGE, newest first. */
const DEEP_FROM_PAGE = 150;
const DEEP_TO_PAGE = 200;

// ---------------------------------------------------------------------------------------------------
// The database and the Redis namespace of one run

async function withServer<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the bench database fresh; answers true if a leftover of an earlier run was dropped first. */
export function createDatabase(serverUrl: string, name: string): Promise<boolean> {
  return withServer(serverUrl, async (client) => {
    const leftover = await client.query('select 1 from pg_database where datname = $1', [name]);
    // `name` is checked to be a plain identifier (options.ts).
    if (leftover.rowCount) await client.query(`drop database "${name}" with (force)`);
    await client.query(`create database "${name}"`);
    return Boolean(leftover.rowCount);
  });
}

export function dropDatabase(serverUrl: string, name: string): Promise<void> {
  return withServer(serverUrl, async (client) => {
    await client.query(`drop database if exists "${name}" with (force)`);
  });
}

/** Deletes every key under the run's prefix; answers how many. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export async function serverVersions(
  serverUrl: string,
  redisUrl: string,
): Promise<{ postgres: string; redis: string }> {
  const postgres = await withServer(serverUrl, async (client) => {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return rows[0]?.server_version ?? '?';
  });
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const info = await redis.info('server');
    return { postgres, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? '?' };
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------
// A minimal client for the set-up calls

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async call<T>(
    method: 'GET' | 'POST',
    path: string,
    { body, token, expect }: { body?: unknown; token?: string; expect: number },
  ): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `session_id ${token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status !== expect) {
      throw new Error(`set-up: ${method} ${path} answered ${res.status}, expected ${expect}: ${text}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

// ---------------------------------------------------------------------------------------------------
// The data

export interface BenchUser {
  readonly name: string;
  readonly password: string;
  readonly id: string;
  readonly token: string;
}

export interface Fixture {
  readonly users: readonly BenchUser[];
  /** the chats the post scenarios and the pg baselines write to, each with the user who owns it */
  readonly sendTargets: ReadonlyArray<{ readonly chatId: string; readonly user: BenchUser }>;
  /** chats with `messagesPerChat` messages; every user is a member */
  readonly historyChats: readonly string[];
  /**
   * Query strings of full pages (`limit=50&order=desc&from=…`) at every position of a chat: with
   * `historyChats`, the distinct pages history-uncached draws from.
   */
  readonly historyPages: readonly string[];
  /** The same, of the pages 150 to 200 deep (as deep as the chats go, in smoke mode). */
  readonly deepPages: readonly string[];
}

/** Runs `fn` over `items`, at most `width` at a time; answers the results in order. */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map((item, j) => fn(item, i + j)))));
  }
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export async function seed(
  api: ApiClient,
  databaseUrl: string,
  size: SeedSize,
  log: (line: string) => void,
): Promise<Fixture> {
  // Users (argon2 hashing: a few at a time) and their sessions.
  const users = await inBatches(range(size.users), 4, async (i) => {
    const name = `bench-user-${i}`;
    const password = `bench password ${i}`;
    const { user_id } = await api.call<{ user_id: string }>('POST', '/v1/auth/register', {
      body: { user_name: name, password },
      expect: 201,
    });
    const { session_id } = await api.call<{ session_id: string }>('POST', '/v1/auth/login', {
      body: { user_name: name, password },
      expect: 200,
    });
    return { name, password, id: user_id, token: session_id };
  });
  const userAt = (i: number): BenchUser => users[i % users.length] as BenchUser;

  const createChat = async (owner: BenchUser, chatName: string): Promise<string> =>
    (
      await api.call<{ chat_id: string }>('POST', '/v1/chats', {
        body: { chat_name: chatName },
        token: owner.token,
        expect: 201,
      })
    ).chat_id;

  const sendTargets = await inBatches(range(size.sendChats), 8, async (i) => {
    const user = userAt(i);
    return { chatId: await createChat(user, `bench send ${i}`), user };
  });

  const owner = userAt(0);
  const historyChats = await inBatches(range(size.historyChats), 8, async (i) => {
    const chatId = await createChat(owner, `bench history ${i}`);
    for (const member of users.slice(1)) {
      await api.call('POST', `/v1/chats/${chatId}/users`, {
        body: { user_name: member.name },
        token: owner.token,
        expect: 201,
      });
    }
    return chatId;
  });
  log(
    `  ${users.length} users logged in, ${sendTargets.length} send chats, ${historyChats.length} history chats`,
  );

  const started = Date.now();
  await insertHistory(databaseUrl, historyChats, users, size.messagesPerChat);
  log(
    `  ${historyChats.length} × ${size.messagesPerChat} messages inserted in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  const { pages: historyPages, deepPages } = await collectPages(
    api,
    historyChats,
    owner,
    size.messagesPerChat,
  );
  log(
    `  ${historyPages.length} page iterators × ${historyChats.length} chats for history-uncached, ` +
      `${deepPages.length} of them for history-depth-200`,
  );
  return { users, sendTargets, historyChats, historyPages, deepPages };
}

/** Fills each chat with `count` messages, seq 1..count, authors round-robin, one minute apart. */
async function insertHistory(
  databaseUrl: string,
  chatIds: readonly string[],
  users: readonly BenchUser[],
  count: number,
): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const authors = users.map((u) => u.id);
    for (const chatId of chatIds) {
      await client.query('begin');
      await client.query(
        `insert into messages (chat_id, seq, user_id, text, created_at)
         select $1::uuid, g, ($2::uuid[])[1 + g % cardinality($2::uuid[])],
                'history message ' || g || ': ' || md5($1::text || g) || ' ' || md5(g || $1::text),
                now() - make_interval(mins => $3::int - g)
         from generate_series(1, $3::int) as g`,
        [chatId, authors, count],
      );
      // What the API's append keeps up to date: the next post continues after the seeded seqs.
      await client.query('update chats set last_message_seq = $2, last_message_at = now() where id = $1', [
        chatId,
        count,
      ]);
      await client.query('commit');
    }
    await client.query('analyze');
  } finally {
    await client.end();
  }
}

interface HistoryPage {
  messages: unknown[];
  next?: { iterator: string };
}

/**
 * The `from` iterator of every position in a chat's history, both orders, fetched through the API
 * (they are opaque): pages of 50 give every 50th, then chains of `limit=1` from each of those fill
 * the gaps, all chains at once. Only positions that still have a full page after them are kept.
 * Iterators name a position, not a chat (checked below), so they serve every history chat.
 */
async function collectPages(
  api: ApiClient,
  chatIds: readonly string[],
  reader: BenchUser,
  count: number,
): Promise<{ pages: string[]; deepPages: string[] }> {
  const [first, other] = [chatIds[0], chatIds[chatIds.length - 1]] as [string, string];
  const lastStart = count - PAGE;
  const get = (chatId: string, query: string): Promise<HistoryPage> =>
    api.call<HistoryPage>('GET', `/v1/chats/${chatId}/messages?${query}`, {
      token: reader.token,
      expect: 200,
    });
  const pages: string[] = [];
  const deepPages: string[] = [];
  const deepFrom = Math.min(lastStart, (DEEP_FROM_PAGE - 1) * PAGE);
  const deepTo = Math.min(lastStart, (DEEP_TO_PAGE - 1) * PAGE);

  // Newest first, as a client opening a chat reads it.
  for (const order of ['desc'] as const) {
    // byPosition[p]: the iterator that skips the first p messages in this order (none for p = 0).
    const byPosition: Array<string | undefined> = [undefined];
    const starts: Array<{ position: number; from: string | undefined }> = [{ position: 0, from: undefined }];
    let from: string | undefined;
    for (let position = PAGE; position <= lastStart; position += PAGE) {
      const page = await get(first, `limit=${PAGE}&order=${order}${from ? `&from=${from}` : ''}`);
      if (!page.next) break;
      from = page.next.iterator;
      byPosition[position] = from;
      starts.push({ position, from });
    }
    await Promise.all(
      starts.map(async (start) => {
        let cursor = start.from;
        for (
          let position = start.position + 1;
          position < start.position + PAGE && position <= lastStart;
          position++
        ) {
          const page = await get(first, `limit=1&order=${order}${cursor ? `&from=${cursor}` : ''}`);
          if (!page.next) return;
          cursor = page.next.iterator;
          byPosition[position] = cursor;
        }
      }),
    );
    for (let position = 0; position <= lastStart; position++) {
      const it = byPosition[position];
      if (position !== 0 && !it) continue;
      const query = `limit=${PAGE}&order=${order}${it ? `&from=${it}` : ''}`;
      pages.push(query);
      if (position >= deepFrom && position <= deepTo) deepPages.push(query);
    }
  }

  // The uncached scenario reads every chat with these iterators: make sure that is still allowed.
  const probe = pages[Math.floor(pages.length / 4)] ?? `limit=${PAGE}`;
  const page = await get(other, probe).catch((err: unknown) => {
    throw new Error(`${String(err)}\n(iterators seem bound to their chat now: collect them per chat)`);
  });
  if (page.messages.length !== PAGE) {
    throw new Error(`set-up: a page of another chat held ${page.messages.length} messages, expected ${PAGE}`);
  }
  return { pages, deepPages };
}
