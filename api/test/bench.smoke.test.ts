/**
 * The benchmark (bench/run.ts, `make bench`) in its smoke mode, so that it cannot rot: it builds and
 * starts the API, seeds, runs every scenario and baseline for about a second and prints its table,
 * then holds a few dozen event streams on two API instances while 20 messages are posted.
 * Only that it ran and what the tables are made of are checked, never a speed: CI machines are small
 * and shared. Lost or repeated events are not speed but correctness, so those are checked. It needs real PostgreSQL and Redis (TEST_POSTGRES_URL, TEST_REDIS_URL), makes a
 * database of its own on that server and drops it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { EventsResult } from '../../bench/report.ts';

const SCENARIOS = [
  'ping',
  'post-1-chat',
  'post-50-chats',
  'history-cached',
  'history-uncached',
  'history-depth-200',
  'login',
];
const BASELINES = ['bare-koa', 'pg-post-1-chat', 'pg-post-50-chats', 'pg-locked-1-chat', 'pg-single-insert'];
const EVENT_FIGURES = [
  'delivery p50 (201 → stream)',
  'delivery p99',
  'lost deliveries',
  'duplicated deliveries',
  'API RSS per idle stream',
];

/** What the test reads of the bench's JSON report (bench/report.ts). */
interface Report {
  rows: Array<{ name: string }>;
  table: string;
  events?: EventsResult;
}

const postgresUrl = process.env.TEST_POSTGRES_URL;
const redisUrl = process.env.TEST_REDIS_URL;
const missing = Object.entries({ TEST_POSTGRES_URL: postgresUrl, TEST_REDIS_URL: redisUrl })
  .filter(([, value]) => !value)
  .map(([name]) => name);

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The cells of the table's rows, by their first cell. */
function tableRows(stdout: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('|') || /^\|[\s:-]+\|/.test(line)) continue;
    const cells = line
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
    rows.set(cells[0] ?? '', cells);
  }
  return rows;
}

describe(`the benchmark, smoke mode${missing.length > 0 ? ` (skipped: set ${missing.join(' and ')})` : ''}`, function () {
  this.timeout(180_000);
  let resultsDir: string | undefined;
  // One bench run (a minute or so) that both tests read.
  let code: number | null = null;
  let stdout = '';
  let stderr = '';
  let report: Report | undefined;

  before(async function () {
    if (!postgresUrl || !redisUrl) {
      if (process.env.REQUIRE_REAL_SERVICES === '1') {
        throw new Error(`REQUIRE_REAL_SERVICES=1 but ${missing.join(' and ')} not set`);
      }
      this.skip();
    }
    resultsDir = await mkdtemp(path.join(tmpdir(), 'messenger-bench-'));
    ({ code, stdout, stderr } = await run([
      '--smoke',
      '--postgres-url',
      postgresUrl,
      '--redis-url',
      redisUrl,
      // Its own database, so that a developer's `make bench` on the same server is left alone.
      '--database',
      `messenger_bench_smoke_${randomBytes(4).toString('hex')}`,
      '--results-dir',
      resultsDir,
    ]));
    const files = await readdir(resultsDir);
    const json = files.find((f) => f.endsWith('.json'));
    if (json) report = JSON.parse(await readFile(path.join(resultsDir, json), 'utf8')) as Report;
  });

  after(async () => {
    if (resultsDir) await rm(resultsDir, { recursive: true, force: true });
  });

  it('runs every scenario and every baseline and prints one table with a ratio to its baseline', async function () {
    expect(code, `the bench exited ${code}:\n${stderr.slice(-4_000)}`).to.equal(0);

    const rows = tableRows(stdout);
    const header = rows.get('scenario');
    expect(header, `no table header in:\n${stdout}`).to.include.members([
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
    ]);
    const ratioColumn = header?.indexOf('ratio') ?? -1;
    expect(ratioColumn, 'a ratio column').to.be.above(0);
    for (const name of SCENARIOS) {
      expect(rows.has(name), `a row for ${name} in:\n${stdout}`).to.equal(true);
      expect(rows.get(name)?.[ratioColumn]).to.match(/ × (bare-koa|pg-locked-1-chat|pg-post-50-chats)$/);
      // The server's event-loop delay beside its latencies.
      expect(rows.get(name)?.[header?.indexOf('loop delay p99 / max ms') ?? -1]).to.match(
        /^[\d.]+ \/ [\d.]+$/,
      );
      // And what a request cost the server in CPU, the figure to compare builds by on a busy host.
      expect(rows.get(name)?.[header?.indexOf('server CPU ms/req') ?? -1]).to.match(/^\d+\.\d{3}$/);
    }
    expect(rows.get('post-1-chat')?.[ratioColumn]).to.match(/× pg-locked-1-chat$/);
    expect(rows.get('post-50-chats')?.[ratioColumn]).to.match(/× pg-post-50-chats$/);
    for (const name of BASELINES) expect(rows.has(`baseline: ${name}`), `a row for ${name}`).to.equal(true);

    const files = await readdir(resultsDir ?? '');
    expect(files.filter((f) => f.endsWith('.json'))).to.have.length(1);
    expect(report?.rows.map((r) => r.name)).to.have.members([...SCENARIOS, ...BASELINES]);
    expect(stdout).to.contain(report?.table);
  });

  it('streams every posted message to each stream of each member of its chat, once, and prints the events table', function () {
    expect(code, `the bench exited ${code}:\n${stderr.slice(-4_000)}`).to.equal(0);
    const rows = tableRows(stdout);
    expect(rows.get('events'), `an events table in:\n${stdout}`).to.deep.equal([
      'events',
      'measured',
      'target',
      'met',
    ]);
    for (const name of EVENT_FIGURES) expect(rows.has(name), `a row for ${name}`).to.equal(true);
    const events = report?.events;
    expect(events, 'the events figures in the JSON report').to.not.equal(undefined);
    expect(events?.posted).to.equal(20);
    expect(events?.expected).to.be.above(0);
    expect(events?.delivered).to.equal(events?.expected);
    expect(events).to.include({ lost: 0, duplicated: 0, unexpected: 0, streamsEnded: 0 });
    expect(rows.get('lost deliveries')?.[1]).to.equal(`0 of ${events?.expected}`);
  });
});
