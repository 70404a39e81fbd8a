/**
 * The HTTP load: what each connection sends in each scenario, and one autocannon run of it. The
 * bench process is the load generator; the server under load is always another process.
 */
import autocannon from 'autocannon';
import { percentile, type BaselineName, type LoadResult, type ScenarioName } from './report.ts';
import { PAGE, SEND_CHATS, type BenchUser, type Fixture } from './setup.ts';

export interface HttpLoad {
  readonly name: ScenarioName | 'bare-koa';
  /** what the ratio is taken against */
  readonly baseline?: BaselineName;
  /** The request connection `i` repeats; a `setupRequest` varies it request by request. */
  request(connection: number): autocannon.Request;
}

/** The text `send` posts and the pg-insert baseline inserts, per connection / worker. */
export const messageText = (i: number): string =>
  `bench message from connection ${i}: the quick brown fox jumps over the lazy dog`;

const json = { 'content-type': 'application/json' };
const auth = (user: BenchUser): Record<string, string> => ({ authorization: `session_id ${user.token}` });
const pick = <T>(items: readonly T[], i: number): T => items[i % items.length] as T;
const random = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

export function scenarios(fixture: Fixture): Record<ScenarioName, HttpLoad> {
  const { users, sendTargets, historyChats, historyPages, deepPages } = fixture;
  // Each request reads one of `pages` (query strings) of a random chat, as user i.
  const randomPageOf = (name: ScenarioName, pages: readonly string[]): HttpLoad => ({
    name,
    baseline: 'bare-koa',
    request: (i) => ({
      method: 'GET',
      headers: auth(pick(users, i)),
      setupRequest: (req) => ({
        ...req,
        path: `/v1/chats/${random(historyChats)}/messages?${random(pages)}`,
      }),
    }),
  });
  // Connection i posts to chat i % n as that chat's owner.
  const post = (name: ScenarioName, baseline: BaselineName, chats: number): HttpLoad => ({
    name,
    baseline,
    request: (i) => {
      const target = pick(sendTargets.slice(0, chats), i);
      return {
        method: 'POST',
        path: `/v1/chats/${target.chatId}/messages`,
        headers: { ...json, ...auth(target.user) },
        body: JSON.stringify({ message: messageText(i) }),
      };
    },
  });
  return {
    // Routing, the middleware and the smallest reply: what every request pays.
    ping: { name: 'ping', baseline: 'bare-koa', request: () => ({ method: 'GET', path: '/ping' }) },
    // Every connection posts to one chat: the chat row's lock is as contended as it gets.
    // Its ratio is to the old post transaction: what group commit gains over one commit per post.
    'post-1-chat': post('post-1-chat', 'pg-locked-1-chat', 1),
    // Fifty chats: the per-chat lock is rarely contended.
    'post-50-chats': post('post-50-chats', 'pg-post-50-chats', SEND_CHATS),
    // Everyone reads the same newest page of the same chat: once the API caches pages, all hits.
    'history-cached': {
      name: 'history-cached',
      baseline: 'bare-koa',
      request: (i) => ({
        method: 'GET',
        path: `/v1/chats/${historyChats[0]}/messages?limit=${PAGE}&order=desc`,
        headers: auth(pick(users, i)),
      }),
    },
    // Each request reads a random full page (any position, newest first) of a random chat: the
    // distinct pages far outnumber the requests of a run, so a cache can serve only a few of them.
    'history-uncached': randomPageOf('history-uncached', historyPages),
    // Pages 150 to 200 deep (50 per page, newest first: the oldest messages of a 10k chat) of a
    // random chat, mostly not cached yet: keyset paging makes them cost what the first page costs.
    'history-depth-200': randomPageOf('history-depth-200', deepPages),
    // Each login verifies an argon2id hash (deliberately slow) and writes a session.
    login: {
      name: 'login',
      baseline: 'bare-koa',
      request: (i) => {
        const user = pick(users, i);
        return {
          method: 'POST',
          path: '/v1/auth/login',
          headers: json,
          body: JSON.stringify({ user_name: user.name, password: user.password }),
        };
      },
    },
  };
}

export const bareKoa: HttpLoad = { name: 'bare-koa', request: () => ({ method: 'GET', path: '/' }) };

export interface LoadShape {
  readonly connections: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /**
   * Smoke mode: stop after this many requests instead of after the time window, so that on a
   * loaded machine every scenario still gets answers (a 1 s window can end before one login does).
   */
  readonly requests?: number;
}

/**
 * One autocannon run of warm-up + measurement, counted only inside the measured window: requests
 * still queued in the server when the warm-up ends (a slow endpoint, like login, has a deep queue)
 * finish inside the window as they would in a steady state, instead of eating the next run's time.
 * Latencies come from autocannon's response event (sub-millisecond; its own histogram keeps whole
 * milliseconds), so percentiles are computed as the pg-insert baseline's are.
 */
export function runHttp(url: string, load: HttpLoad, shape: LoadShape): Promise<LoadResult> {
  let next = 0;
  let okWithWarmup = 0;
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let non2xx = 0;
  let socketErrors = 0;
  let firstError: string | undefined;
  const windowStart = performance.now() + shape.warmupSec * 1000;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: shape.connections,
        duration: shape.warmupSec + shape.durationSec,
        // autocannon ignores `duration` when `amount` is set.
        ...(shape.requests !== undefined && { amount: shape.requests }),
        // A request that waits this long is an error (the default 10 s is under login's queue at 50+).
        timeout: 30,
        setupClient: (client) => client.setRequests([load.request(next++)]),
      },
      (err: unknown) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        latencies.sort((a, b) => a - b);
        resolve({
          ok: latencies.length,
          okWithWarmup,
          // Throughput and latency count successes only; errors are non-2xx answers and socket errors.
          errors: non2xx + socketErrors,
          seconds: (performance.now() - windowStart) / 1000,
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
          statusCodes,
          ...(firstError ? { firstError } : {}),
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) okWithWarmup += 1;
      if (performance.now() < windowStart) return;
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) latencies.push(ms);
      else non2xx += 1;
    });
    instance.on('reqError', (err: unknown) => {
      if (performance.now() < windowStart) return;
      socketErrors += 1;
      firstError ??= String(err);
    });
  });
}
