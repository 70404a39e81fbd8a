/**
 * `make bench` / `npm run bench`: load scenarios against the real API on real PostgreSQL and Redis,
 * with the baselines that say how close each one is to its ceiling, in one run, then the event
 * streams (bench/events/). Prints one table, and the events' own (stdout; progress goes to stderr),
 * and writes them with every figure to bench/results/<timestamp>.json.
 * `--smoke` is the same code in a tiny mode for CI. Options: bench/options.ts (`--help`).
 *
 * The run owns what it touches: a fresh database (dropped at the end, even on failure or Ctrl-C),
 * a Redis key prefix of its own (deleted at the end), and the server processes it starts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import nodeFlags from '../scripts/node-flags.json' with { type: 'json' };
import { runPgInsertBaseline, type PgInsertMode } from './baselines/pg-insert.ts';
import { databaseUrl, OptionsError, parseOptions, type BenchOptions } from './options.ts';
import { cpuMs, freePort, PeakRss, sleep, startServer, type Server } from './processes.ts';
import { runEvents } from './events/events-scenario.ts';
import {
  renderEventsTable,
  renderTable,
  withRatios,
  writeReport,
  SCENARIO_NAMES,
  type BaselineName,
  type EventsResult,
  type LoadResult,
  type Row,
} from './report.ts';
import { bareKoa, messageText, runHttp, scenarios, type LoadShape } from './scenarios.ts';
import {
  ApiClient,
  createDatabase,
  deleteRedisKeys,
  dropDatabase,
  seed,
  SEND_CHATS,
  serverVersions,
} from './setup.ts';

const BARE_KOA_BUNDLE = 'node_modules/.cache/messenger-bench/bare-koa.mjs';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Undone in reverse order at the end, whatever happened. */
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const { what, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (err) {
        log(`clean-up: ${what} failed: ${String(err)}`);
      }
    }
  })();
  return cleaning;
}

type RowInput = Omit<Row, 'rps' | 'ratio'>;

/** One measured run: the load, and the peak RSS of the server taking it. */
async function measure(
  name: Row['name'],
  kind: Row['kind'],
  baseline: BaselineName | undefined,
  server: Server | undefined,
  run: () => Promise<LoadResult>,
): Promise<RowInput> {
  log(`▸ ${kind === 'baseline' ? 'baseline ' : ''}${name}`);
  const rss = server ? new PeakRss(server.pid) : undefined;
  const loop = await server?.loopDelay();
  const linesBefore = server?.lines() ?? 0;
  const cpuBefore = server ? cpuMs(server.pid) : null;
  const result = await run();
  const cpuAfter = server ? cpuMs(server.pid) : null;
  const peak = rss?.stop() ?? null;
  // Over warm-up and window alike: the CPU of both, over the successes of both.
  const cpuMsPerOk =
    cpuBefore !== null && cpuAfter !== null && (result.okWithWarmup ?? 0) > 0
      ? (cpuAfter - cpuBefore) / result.okWithWarmup!
      : undefined;
  const eventLoop = loop ? await loop() : undefined;
  const rps = result.seconds > 0 ? result.ok / result.seconds : 0;
  log(
    `  ${rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ${result.errors} errors` +
      (cpuMsPerOk !== undefined ? `, server CPU ${cpuMsPerOk.toFixed(3)} ms/req` : '') +
      (eventLoop
        ? `, event-loop delay p99 ${eventLoop.p99Ms.toFixed(1)} ms, max ${eventLoop.maxMs.toFixed(1)} ms`
        : '') +
      (result.errors > 0
        ? ` (status codes ${JSON.stringify(result.statusCodes ?? {})}; ${result.firstError ?? ''})`
        : ''),
  );
  return {
    ...result,
    name,
    kind,
    ...(baseline ? { baseline } : {}),
    peakRss: peak && server ? { ...peak, process: server.name } : null,
    ...(server ? { serverLogLines: server.lines() - linesBefore } : {}),
    ...(eventLoop !== undefined ? { eventLoop } : {}),
    ...(cpuMsPerOk !== undefined ? { cpuMsPerOk } : {}),
  };
}

async function bench(options: BenchOptions): Promise<number> {
  const startedAt = new Date().toISOString();
  // Other work on a shared machine moves every figure: say how busy it was.
  const loadAverageAtStart = os.loadavg()[0]?.toFixed(2) ?? '?';
  const runId = randomBytes(4).toString('hex');
  const redisPrefix = `bench-${runId}:`;
  const dbUrl = databaseUrl(options.postgresUrl, options.databaseName);
  const shape: LoadShape = {
    connections: options.connections,
    durationSec: options.durationSec,
    warmupSec: options.warmupSec,
    ...(options.smoke && { requests: options.connections * 3 }),
  };
  // A breath between runs, so one run's tail (autovacuum, closing sockets) is not the next one's start.
  const settle = (): Promise<void> => sleep(options.smoke ? 0 : 1_000);

  log(`building the API (scripts/build.mjs) and the bare Koa baseline`);
  await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: ROOT }).catch(
    (err: { stderr?: string }) => {
      throw new Error(
        `scripts/build.mjs failed: the API does not build as it stands\n${err.stderr ?? String(err)}`,
      );
    },
  );
  // Plain JS like the API's bundle, so neither server runs under a loader. Under node_modules (ignored
  // by git) so that `koa` resolves from there.
  await build({
    entryPoints: ['bench/baselines/bare-koa.ts'],
    outfile: BARE_KOA_BUNDLE,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
  });
  const versions = await serverVersions(options.postgresUrl, options.redisUrl);

  if (await createDatabase(options.postgresUrl, options.databaseName)) {
    log(`dropped a leftover database ${options.databaseName}`);
  }
  cleanups.push({
    what: `drop database ${options.databaseName}`,
    run: () => dropDatabase(options.postgresUrl, options.databaseName),
  });
  cleanups.push({
    what: `delete Redis keys ${redisPrefix}*`,
    run: () => deleteRedisKeys(options.redisUrl, redisPrefix),
  });

  const rows: RowInput[] = [];
  let distinctUncachedPages: number | undefined;
  const httpScenarios = SCENARIO_NAMES.filter((n) => options.scenarios.includes(n));
  // The API as `make start` runs it (the bundle), configured for measuring rather than defending.
  const startApi = async (
    name: string,
    entry = 'api/dist/main.js',
    nodeArgs: readonly string[] = [],
  ): Promise<Server> => {
    const port = await freePort();
    log(`starting ${name} on :${port} (database ${options.databaseName}, Redis prefix ${redisPrefix})`);
    const server = await startServer(
      name,
      // For a profile of the API alone: BENCH_API_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
      // With the flags make start and the image run it with (scripts/node-flags.json), or its memory
      // and speed here are not what production gets.
      [
        ...nodeFlags.api,
        ...nodeArgs,
        ...(process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean),
        entry,
      ],
      {
        ...process.env,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        THROTTLING: 'off',
        DATABASE_URL: dbUrl,
        DATABASE_POOL_SIZE: String(options.poolSize),
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: redisPrefix,
        AMQP_URL: 'memory://',
        AUTH_DISABLED: 'false',
        MIGRATE_ON_START: 'true',
        // As make start sets it (scripts/start.mjs).
        UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE || '4',
      },
      port,
      { readyPath: '/ping' },
    );
    cleanups.push({ what: `stop ${name}`, run: () => server.stop() });
    return server;
  };
  const servers: Server[] = [];

  if (httpScenarios.length > 0) {
    // The HTTP ceiling, while nothing else of ours runs.
    const koaPort = await freePort();
    const koa = await startServer(
      'bare-koa',
      [BARE_KOA_BUNDLE],
      { ...process.env, PORT: String(koaPort), HOST: '127.0.0.1' },
      koaPort,
    );
    cleanups.push({ what: 'stop bare Koa', run: () => koa.stop() });
    rows.push(await measure('bare-koa', 'baseline', undefined, koa, () => runHttp(koa.url, bareKoa, shape)));
    await koa.stop();
    await settle();

    const seeder = await startApi('api-seeder');
    servers.push(seeder);
    log('seeding');
    const fixture = await seed(new ApiClient(seeder.url), dbUrl, options.seed, log);
    const loads = scenarios(fixture);
    // Seeding (thousands of page reads) grows the heap, which V8 keeps: each scenario gets an API
    // process of its own, so its peak RSS is its own.
    await seeder.stop();
    await settle();

    // The ceilings for posting: the API's post SQL through pg, same pool size, same concurrency,
    // same chats (one, then fifty); and a single-row INSERT.
    const pgBaseline = (name: BaselineName, mode: PgInsertMode, chats: number) =>
      measure(name, 'baseline', undefined, undefined, () =>
        runPgInsertBaseline({
          mode,
          databaseUrl: dbUrl,
          poolSize: options.poolSize,
          concurrency: options.connections,
          durationSec: options.durationSec,
          warmupSec: options.warmupSec,
          targets: fixture.sendTargets.slice(0, chats).map((t) => ({ chatId: t.chatId, userId: t.user.id })),
          text: messageText,
        }),
      );
    rows.push(await pgBaseline('pg-post-1-chat', 'post', 1));
    await settle();
    rows.push(await pgBaseline('pg-post-50-chats', 'post', SEND_CHATS));
    await settle();
    rows.push(await pgBaseline('pg-locked-1-chat', 'locked-transaction', 1));
    await settle();
    rows.push(await pgBaseline('pg-single-insert', 'single-insert', SEND_CHATS));
    await settle();

    for (const [n, name] of httpScenarios.entries()) {
      const load = loads[name];
      // Compared bundles take turns going first, so neither always runs on the warmer machine.
      const apis = n % 2 === 0 ? options.apis : [...options.apis].reverse();
      for (const { label, entry, nodeArgs } of apis) {
        const api = await startApi(`api-${name}${label ? `-${label}` : ''}`, entry, nodeArgs);
        servers.push(api);
        const row = await measure(name, 'scenario', load.baseline, api, () => runHttp(api.url, load, shape));
        rows.push(label ? { ...row, variant: label } : row);
        await api.stop();
        await settle();
      }
    }
    distinctUncachedPages = fixture.historyChats.length * fixture.historyPages.length;
  }

  let events: EventsResult | undefined;
  if (options.scenarios.includes('events')) {
    log(`▸ events (${options.events.streams} streams, ${options.events.messages} messages)`);
    // One at a time: the first applies the migrations.
    const instances = [await startApi('events-a'), await startApi('events-b')];
    servers.push(...instances);
    events = await runEvents(instances, dbUrl, options.events, log);
    log(
      `  p50 ${events.p50Ms.toFixed(1)} ms, p99 ${events.p99Ms.toFixed(1)} ms, lost ${events.lost}, ` +
        `duplicated ${events.duplicated}, ${events.kbPerStream.toFixed(1)} KB per stream`,
    );
    for (const instance of instances) await instance.stop();
  }

  const finishedAt = new Date().toISOString();
  const results = withRatios(rows);
  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? '?',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg()[0]?.toFixed(2) ?? '?',
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: versions.postgres,
    redis: versions.redis,
  };
  const title =
    `messenger bench ${startedAt}${options.smoke ? ' (SMOKE MODE: figures mean nothing)' : ''}: ` +
    `${options.durationSec} s per run after ${options.warmupSec} s warm-up, ${options.connections} connections, ` +
    `pool ${options.poolSize}; Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ` +
    `PostgreSQL ${machine.postgres}, Redis ${machine.redis}; load generator on the same machine, ` +
    `load average ${machine.loadAverageAtStart} at the start`;
  const table = [
    ...(results.length > 0 ? [renderTable(results, title)] : [title]),
    ...(events ? [renderEventsTable(events)] : []),
  ].join('\n\n');
  process.stdout.write(`\n${table}\n\n`);

  const file = await writeReport(options.resultsDir, {
    startedAt,
    finishedAt,
    machine,
    options: {
      ...options,
      postgresUrl: undefined,
      redisUrl: undefined,
      distinctUncachedPages,
    },
    rows: results,
    ...(events ? { events } : {}),
    table,
  });
  log(`written to ${path.relative(process.cwd(), file)}`);

  for (const server of servers) {
    if (server.lines() > 0)
      log(
        `${server.name} logged ${server.lines()} warning/error lines; the last ones:\n${server.output().slice(-2_000)}`,
      );
  }

  // A run in which some load never once succeeded measured a broken bench, not a slow API.
  const broken = results.filter((r) => r.ok === 0);
  if (broken.length > 0) {
    log(`no successful request in: ${broken.map((r) => r.name).join(', ')}`);
    return 3;
  }
  // Lost, repeated or misdirected events are a broken stream, whatever the speed.
  if (events && (events.posted === 0 || events.lost + events.duplicated + events.unexpected > 0)) {
    log(
      `events: ${events.posted} posted, ${events.lost} lost, ${events.duplicated} duplicated, ` +
        `${events.unexpected} unexpected${events.firstEnded ? `; ${events.firstEnded}` : ''}`,
    );
    return 4;
  }
  return 0;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof OptionsError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      log((err as Error).message);
      return 2;
    }
    throw err;
  }
  // The default results dir is the repository's; one given is taken from where the bench started.
  options = {
    ...options,
    resultsDir: path.resolve(
      options.resultsDir === 'bench/results' ? ROOT : process.cwd(),
      options.resultsDir,
    ),
  };
  // Children (build, servers) run from the repository root, whatever the caller's directory.
  process.chdir(ROOT);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanUp().then(() => process.exit(130));
    });
  }
  try {
    return await bench(options);
  } catch (err) {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    await cleanUp();
  }
}

process.exit(await main());
