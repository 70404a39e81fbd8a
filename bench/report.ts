/** The one table the bench prints (GitHub markdown, so it pastes into the README as is) and its JSON. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What one load run measured. */
export interface LoadResult {
  /** successful operations: 2xx responses, or committed transactions */
  readonly ok: number;
  /** successes including the warm-up's, when it was HTTP (for the server's CPU per request) */
  readonly okWithWarmup?: number;
  /** non-2xx responses plus socket errors and timeouts, or failed transactions */
  readonly errors: number;
  /** the measured window */
  readonly seconds: number;
  /** latency percentiles in ms, of the successful operations only */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** responses by status code, when it was HTTP */
  readonly statusCodes?: Readonly<Record<string, number>>;
  readonly firstError?: string;
}

/**
 * The ceilings measured in the same run: bare Koa (HTTP), the API's post statement through `pg` with
 * the API's pool to one chat and to fifty, the old post transaction to one chat (the locked-transaction
 * ceiling group commit is measured against), and a single-row INSERT (what PostgreSQL does per row).
 */
export const BASELINE_NAMES = [
  'bare-koa',
  'pg-post-1-chat',
  'pg-post-50-chats',
  'pg-locked-1-chat',
  'pg-single-insert',
] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];
export const SCENARIO_NAMES = [
  'ping',
  'post-1-chat',
  'post-50-chats',
  'history-cached',
  'history-uncached',
  'history-depth-200',
  'login',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Row extends LoadResult {
  readonly name: ScenarioName | BaselineName;
  readonly kind: 'scenario' | 'baseline';
  /** which API bundle served it, when a run compares several (`--api`) */
  readonly variant?: string;
  /** for a scenario: the baseline its ratio is taken against */
  readonly baseline?: BaselineName;
  /** successful operations per second */
  readonly rps: number;
  /** rps / the baseline's rps */
  readonly ratio?: number;
  /** peak RSS of the process serving the load (the API; bare Koa's own; none for pg-insert) */
  readonly peakRss: { readonly mib: number; readonly method: string; readonly process: string } | null;
  /** lines the server printed while at LOG_LEVEL=warn (warnings, errors) */
  readonly serverLogLines?: number;
  /** the server's event-loop delay over the run (monitorEventLoopDelay, bench/probes/); none for pg */
  readonly eventLoop?: EventLoopDelay | null;
  /**
   * The server's CPU time (user + system) per successful request, ms: what a request costs it, a
   * figure other work on a shared machine moves far less than req/s.
   */
  readonly cpuMsPerOk?: number;
}

/** Event-loop delay percentiles, ms. */
export interface EventLoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What the events scenario measured (bench/events/). */
export interface EventsResult {
  readonly streams: number;
  readonly users: number;
  readonly chats: number;
  /** API processes the streams and posts were spread over */
  readonly instances: number;
  readonly connectSeconds: number;
  /** messages answered 201 */
  readonly posted: number;
  readonly postErrors: number;
  readonly firstPostError?: string;
  /** messages per second the poster achieved */
  readonly postRate: number;
  readonly postP50Ms: number;
  readonly postP99Ms: number;
  /** (message, stream) pairs that should have arrived: each stream of each member of its chat */
  readonly expected: number;
  readonly delivered: number;
  /** expected deliveries that had not arrived when the grace period after the run ended */
  readonly lost: number;
  /** an event id a stream had already received */
  readonly duplicated: number;
  /** a message on a stream whose user is not in its chat */
  readonly unexpected: number;
  readonly beforeResponse: number;
  /** from the poster's 201 to the arrival on a stream */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * From the moment the poster sent its request: what a user waits from pressing send, an upper
   * bound that also counts the POST's own time (a slow 201 makes the figures above look better).
   */
  readonly fromSentP50Ms: number;
  readonly fromSentP99Ms: number;
  /** streams the server ended (or that broke) while the run held them open */
  readonly streamsEnded: number;
  readonly firstEnded?: string;
  /** the instances' RSS together, before the streams connected and with them connected and idle */
  readonly rssBeforeMiB: number;
  readonly rssIdleMiB: number;
  readonly kbPerStream: number;
  /** the same for the bench process that holds the subscribers' ends (the SSE reader's cost) */
  readonly clientKbPerStream: number;
}

/** What the events table compares each figure with (issue 11). */
export const EVENTS_TARGETS = { p50Ms: 20, p99Ms: 150, kbPerStream: 30 } as const;

export interface Report {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Readonly<Record<string, string | number>>;
  readonly options: Readonly<Record<string, unknown>>;
  readonly rows: readonly Row[];
  readonly events?: EventsResult;
  readonly table: string;
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

/** Adds rps and the ratio to its baseline to each row. */
export function withRatios(rows: ReadonlyArray<Omit<Row, 'rps' | 'ratio'>>): Row[] {
  const rpsOf = (r: Omit<Row, 'rps' | 'ratio'>): number => (r.seconds > 0 ? r.ok / r.seconds : 0);
  const baselineRps = new Map(rows.filter((r) => r.kind === 'baseline').map((r) => [r.name, rpsOf(r)]));
  return rows.map((r) => {
    const rps = rpsOf(r);
    const base = r.baseline ? baselineRps.get(r.baseline) : undefined;
    return { ...r, rps, ...(base ? { ratio: rps / base } : {}) };
  });
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
// Two significant digits below 0.1, so that login's 0.0004 does not print as 0.00.
const ratio = (v: number): string => (v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));

/**
 * The events scenario's own table (its figures are not requests per second): one row per figure,
 * with its target and whether the run met it.
 */
export function renderEventsTable(e: EventsResult): string {
  const t = EVENTS_TARGETS;
  const met = (ok: boolean): string => (ok ? 'yes' : 'NO');
  const rows: Array<[string, string, string, string]> = [
    ['delivery p50 (201 → stream)', `${ms(e.p50Ms)} ms`, `≤ ${t.p50Ms} ms`, met(e.p50Ms <= t.p50Ms)],
    ['delivery p99', `${ms(e.p99Ms)} ms`, `≤ ${t.p99Ms} ms`, met(e.p99Ms <= t.p99Ms)],
    ['lost deliveries', `${int.format(e.lost)} of ${int.format(e.expected)}`, '0', met(e.lost === 0)],
    ['duplicated deliveries', int.format(e.duplicated), '0', met(e.duplicated === 0)],
    [
      'API RSS per idle stream',
      `${e.kbPerStream.toFixed(1)} KB`,
      `≤ ${t.kbPerStream} KB`,
      met(e.kbPerStream <= t.kbPerStream),
    ],
  ];
  const header: [string, string, string, string] = ['events', 'measured', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (c: string[]): string =>
    `| ${c.map((v, i) => (i === 1 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 1 ? ` ${'-'.repeat(w - 1)}: ` : ` ${'-'.repeat(w)} `)).join('|')}|`;
  const title =
    `events: ${int.format(e.streams)} streams of ${int.format(e.users)} users on ${e.instances} API instances, ` +
    `${int.format(e.chats)} chats; ${int.format(e.posted)} messages at ${e.postRate.toFixed(0)}/s ` +
    `(post p50 ${ms(e.postP50Ms)} ms, p99 ${ms(e.postP99Ms)} ms, ${e.postErrors} errors), ` +
    `${int.format(e.delivered)} deliveries (max ${ms(e.maxMs)} ms, ${int.format(e.beforeResponse)} before the 201; ` +
    `from the request's start p50 ${ms(e.fromSentP50Ms)} ms, p99 ${ms(e.fromSentP99Ms)} ms), ` +
    `${e.unexpected} unexpected, ${e.streamsEnded} streams ended early; ` +
    `RSS ${e.rssBeforeMiB.toFixed(0)} → ${e.rssIdleMiB.toFixed(0)} MiB with the streams open ` +
    `(the bench's readers: ${e.clientKbPerStream.toFixed(1)} KB per stream)`;
  return [title, '', line(header), rule, ...rows.map(line)].join('\n');
}

/** The table: scenarios first, then the baselines they are measured against. */
export function renderTable(rows: readonly Row[], title: string): string {
  const header = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'loop delay p99 / max ms',
    'server peak RSS',
    'server CPU ms/req',
    'ratio',
  ];
  const ordered = [
    ...rows.filter((r) => r.kind === 'scenario'),
    ...rows.filter((r) => r.kind === 'baseline'),
  ];
  const cells = ordered.map((r) => [
    r.kind === 'baseline' ? `baseline: ${r.name}` : r.variant ? `${r.name} (${r.variant})` : r.name,
    int.format(r.rps),
    ms(r.p50Ms),
    ms(r.p99Ms),
    int.format(r.errors),
    r.eventLoop ? `${ms(r.eventLoop.p99Ms)} / ${ms(r.eventLoop.maxMs)}` : '—',
    r.peakRss ? `${r.peakRss.mib.toFixed(0)} MiB` : '—',
    r.cpuMsPerOk !== undefined ? r.cpuMsPerOk.toFixed(3) : '—',
    r.kind === 'baseline'
      ? '1 (baseline)'
      : r.ratio !== undefined
        ? `${ratio(r.ratio)} × ${r.baseline}`
        : `— (no ${r.baseline})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  // Text left-aligned, figures right-aligned, in the source and in the rendered markdown.
  const left = (i: number): boolean => i === 0 || i === header.length - 1;
  const line = (c: string[]): string =>
    `| ${c.map((v, i) => (left(i) ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (left(i) ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [title, '', line(header), rule, ...cells.map(line)].join('\n');
}

/** Writes the report as `<dir>/<timestamp>.json`; answers the path. */
export async function writeReport(dir: string, report: Report): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
