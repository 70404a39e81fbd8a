/**
 * The bench's options: command-line flags first, then BENCH_* variables, then defaults. Smoke mode
 * (`--smoke`, BENCH_SMOKE=1) is a fixed tiny run for CI: it ignores BENCH_DURATION/BENCH_CONNECTIONS
 * so that an exported value cannot turn the CI check into a long run; flags still win.
 */
import { parseArgs } from 'node:util';
import type { EventsOptions } from './events/events-scenario.ts';
import { SCENARIO_NAMES } from './report.ts';

export interface SeedSize {
  /** registered users; connections take them round-robin */
  readonly users: number;
  /** chats the post scenarios and the pg baselines write to (post-1-chat: the first) */
  readonly sendChats: number;
  /** chats the history scenarios read, each seeded with `messagesPerChat` messages */
  readonly historyChats: number;
  readonly messagesPerChat: number;
}

export interface BenchOptions {
  readonly smoke: boolean;
  /** seconds each scenario and baseline is measured */
  readonly durationSec: number;
  /** seconds of unmeasured load before each measurement (JIT, pools, caches) */
  readonly warmupSec: number;
  readonly connections: number;
  /** the API's DATABASE_POOL_SIZE, and the pg baselines' pool size */
  readonly poolSize: number;
  /** a PostgreSQL server URL to create the bench database from (any existing database on it) */
  readonly postgresUrl: string;
  /** created fresh for the run and dropped afterwards */
  readonly databaseName: string;
  readonly redisUrl: string;
  /** where `<timestamp>.json` is written */
  readonly resultsDir: string;
  readonly seed: SeedSize;
  /** the scenarios to run; the baselines run with any of the HTTP ones (all but `events`) */
  readonly scenarios: readonly RunnableScenario[];
  readonly events: EventsOptions;
  /**
   * The API bundles each HTTP scenario runs against, in turn, each under its label: two builds
   * compared in one run (`--api before=api/dist/main-before.js,after=api/dist/main.js`), so the
   * machine's load moves both alike. Default: the one bundle scripts/build.mjs makes, no label.
   */
  readonly apis: ReadonlyArray<{
    readonly label: string | undefined;
    readonly entry: string;
    readonly nodeArgs: readonly string[];
  }>;
}

export const RUNNABLE_SCENARIOS = [...SCENARIO_NAMES, 'events'] as const;
export type RunnableScenario = (typeof RUNNABLE_SCENARIOS)[number];

export class OptionsError extends Error {}

// 50 send chats: post-50-chats spreads over all of them, post-1-chat takes the first. History: a few
// chats of 10k messages (the "10k-message chat"), so page 200 of 50 exists.
const FULL_SEED: SeedSize = { users: 8, sendChats: 50, historyChats: 4, messagesPerChat: 10_000 };
const SMOKE_SEED: SeedSize = { users: 2, sendChats: 2, historyChats: 2, messagesPerChat: 200 };

export const USAGE = `usage: tsx bench/run.ts [options]
  --smoke                 tiny run for CI (~1 s per scenario, 4 connections)    BENCH_SMOKE=1
  --duration <s>          seconds per scenario (default 10)                     BENCH_DURATION
  --connections <n>       concurrent connections (default 50)                   BENCH_CONNECTIONS
  --warmup <s>            unmeasured seconds before each (default 1)            BENCH_WARMUP
  --pool-size <n>         API and pg baselines' pool size (default 10)          DATABASE_POOL_SIZE
  --postgres-url <url>    server to create the bench database on                BENCH_POSTGRES_URL
                          (default postgres://postgres@127.0.0.1:5432/postgres)
  --database <name>       bench database, dropped at the end (default messenger_bench)  BENCH_DATABASE
  --redis-url <url>       (default redis://127.0.0.1:6379/0)                    BENCH_REDIS_URL
  --results-dir <dir>     where the JSON goes (default bench/results)           BENCH_RESULTS_DIR
  --scenarios <a,b>       run only these (default all: ${RUNNABLE_SCENARIOS.join(',')})  BENCH_SCENARIOS
  --streams <n>           events: streams held open (default 5000)              BENCH_STREAMS
  --post-rate <n>         events: messages per second posted (default 100)      BENCH_POST_RATE
                          events post rate × duration messages (smoke: 20)
  --api <label=file,...>  API bundles to compare, each HTTP scenario run against  BENCH_API
                          each in turn (default api/dist/main.js, as built); Node flags
                          of one bundle's own may follow its file after spaces`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      'pool-size': { type: 'string' },
      'postgres-url': { type: 'string' },
      database: { type: 'string' },
      'redis-url': { type: 'string' },
      'results-dir': { type: 'string' },
      scenarios: { type: 'string' },
      streams: { type: 'string' },
      'post-rate': { type: 'string' },
      api: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new OptionsError(USAGE);

  const smoke = values.smoke ?? /^(1|true|yes|on)$/i.test(env.BENCH_SMOKE ?? '');
  const fromEnv = (name: string): string | undefined => (smoke ? undefined : env[name] || undefined);

  const durationSec = number('duration', values.duration ?? fromEnv('BENCH_DURATION'), smoke ? 1 : 10, {
    min: 0.5,
    max: 3600,
  });
  const connections = number(
    'connections',
    values.connections ?? fromEnv('BENCH_CONNECTIONS'),
    smoke ? 4 : 50,
    { min: 1, max: 1000, integer: true },
  );
  const warmupSec = number('warmup', values.warmup ?? fromEnv('BENCH_WARMUP'), smoke ? 0 : 1, {
    min: 0,
    max: 600,
  });
  const poolSize = number('pool-size', values['pool-size'] ?? env.DATABASE_POOL_SIZE, 10, {
    min: 1,
    max: 1000,
    integer: true,
  });
  const databaseName = values.database ?? (env.BENCH_DATABASE || 'messenger_bench');
  // Interpolated into CREATE/DROP DATABASE: keep it to a plain identifier.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(databaseName)) {
    throw new OptionsError(`--database ${databaseName}: expected a lower-case identifier ([a-z0-9_])`);
  }
  const postgresUrl =
    values['postgres-url'] ?? (env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  if (!/^postgres(ql)?:\/\//.test(postgresUrl)) {
    throw new OptionsError('--postgres-url: expected a postgres:// URL');
  }
  const redisUrl = values['redis-url'] ?? (env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379/0');
  if (!/^rediss?:\/\//.test(redisUrl)) throw new OptionsError('--redis-url: expected a redis:// URL');

  const scenarioList = values.scenarios ?? fromEnv('BENCH_SCENARIOS');
  const scenarios = scenarioList ? scenarioList.split(',').map((n) => n.trim()) : [...RUNNABLE_SCENARIOS];
  const unknown = scenarios.filter((n) => !(RUNNABLE_SCENARIOS as readonly string[]).includes(n));
  if (unknown.length > 0 || scenarios.length === 0) {
    throw new OptionsError(`--scenarios ${scenarioList}: expected some of ${RUNNABLE_SCENARIOS.join(',')}`);
  }
  const streams = number('streams', values.streams ?? fromEnv('BENCH_STREAMS'), smoke ? 24 : 5000, {
    min: 2,
    max: 100_000,
    integer: true,
  });
  const postRate = number('post-rate', values['post-rate'] ?? fromEnv('BENCH_POST_RATE'), smoke ? 50 : 100, {
    min: 1,
    max: 10_000,
  });

  const apiList = values.api ?? fromEnv('BENCH_API');
  const apis = apiList
    ? apiList.split(',').map(parseApi)
    : [{ label: undefined, entry: 'api/dist/main.js', nodeArgs: [] }];
  if (new Set(apis.map((a) => a.label)).size !== apis.length) {
    throw new OptionsError(`--api ${apiList}: each bundle needs a label of its own`);
  }

  return {
    smoke,
    apis,
    scenarios: scenarios as RunnableScenario[],
    events: {
      streams,
      // The API's default EVENTS_MAX_STREAMS_PER_USER is 5, per instance: 5 in all stays under it.
      streamsPerUser: smoke ? 3 : 5,
      chatSize: smoke ? 4 : 20,
      chatsPerUser: 2,
      // Smoke mode posts a fixed count, so a slow machine takes longer rather than posting less.
      messages: smoke ? 20 : Math.max(1, Math.round(postRate * durationSec)),
      postRate,
      graceMs: smoke ? 30_000 : 10_000,
    },
    durationSec,
    warmupSec,
    connections,
    poolSize,
    postgresUrl,
    databaseName,
    redisUrl,
    resultsDir: values['results-dir'] ?? (env.BENCH_RESULTS_DIR || 'bench/results'),
    seed: smoke ? SMOKE_SEED : FULL_SEED,
  };
}

/**
 * `label=path/to/main.js`, or a bare path (its label is then the path), optionally followed by Node
 * flags of its own after spaces (`before=api/dist/main-before.js --max-semi-space-size=0`): they come
 * after scripts/node-flags.json's, so they win.
 */
function parseApi(item: string): { label: string; entry: string; nodeArgs: string[] } {
  const [spec = '', ...nodeArgs] = item.trim().split(/\s+/);
  const [label, entry] = spec.includes('=') ? spec.split('=', 2) : [spec, spec];
  if (!label || !entry?.endsWith('.js') || nodeArgs.some((a) => !a.startsWith('--'))) {
    throw new OptionsError(`--api ${item}: expected label=path/to/bundle.js [--node-flag ...]`);
  }
  return { label, entry, nodeArgs };
}

function number(
  name: string,
  raw: string | undefined,
  fallback: number,
  { min, max, integer = false }: { min: number; max: number; integer?: boolean },
): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new OptionsError(
      `--${name} ${raw}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  }
  return n;
}

/** The bench database's URL: the server URL with its database name replaced. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
