/**
 * A light, bounded load for the fault tests: a few concurrent clients, each request with a
 * client-side timeout, every outcome recorded (when it started and ended, status, body) so a test
 * can judge each answer by what the dependencies were doing at the time.
 */
import { randomBytes } from 'node:crypto';

export interface Outcome {
  /** What the request did, e.g. `post`, `read`, `cached-read`. */
  readonly op: string;
  /** ms since the epoch (Date.now). */
  readonly started: number;
  readonly ended: number;
  /** The HTTP status; 0 when there was no answer (connection error or client-side timeout). */
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers | undefined;
  /** Why there was no answer. */
  readonly error?: string;
  /** For posts: the unique text sent. */
  readonly text?: string;
}

export const latency = (o: Outcome): number => o.ended - o.started;

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Client-side timeout: past it the outcome is status 0, error `timeout`. */
  timeoutMs?: number;
  /** Aborts the request, as a client that goes away does (the outcome's error is `aborted`). */
  signal?: AbortSignal;
  text?: string;
}

/** One HTTP request, never throwing: whatever happens becomes an Outcome. */
export async function call(
  baseUrl: string,
  op: string,
  method: string,
  route: string,
  options: CallOptions = {},
): Promise<Outcome> {
  const started = Date.now();
  const base = { op, started, text: options.text };
  try {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      headers: {
        ...(options.token ? { Authorization: `session_id ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.any([
        AbortSignal.timeout(options.timeoutMs ?? 10_000),
        ...(options.signal ? [options.signal] : []),
      ]),
    });
    const raw = await response.text();
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // not JSON: kept as text, and the error-body check will say so
    }
    return { ...base, ended: Date.now(), status: response.status, body, headers: response.headers };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const error =
      e.name === 'TimeoutError'
        ? 'timeout'
        : e.name === 'AbortError'
          ? 'aborted'
          : (e.cause?.code ?? e.message);
    return { ...base, ended: Date.now(), status: 0, body: undefined, headers: undefined, error };
  }
}

/** A text no other message has, so history can be compared with what was acknowledged. */
export function uniqueText(label: string): string {
  return `${label} ${randomBytes(6).toString('hex')}`;
}

export interface RunningLoad {
  /** Stops every client after its current request; resolves with all outcomes, in start order. */
  stop(): Promise<Outcome[]>;
  /** The outcomes so far. */
  readonly outcomes: readonly Outcome[];
}

/**
 * Runs `clients` loops of `step(client, i)` until stopped, each at most `maxSteps` times and for at
 * most `maxMs`, pausing `pauseMs` between steps: bounded whatever the test does.
 */
export function runLoad(options: {
  clients: number;
  step: (client: number, i: number) => Promise<Outcome[]>;
  pauseMs?: number;
  maxSteps?: number;
  maxMs?: number;
  /** Checked before every step: e.g. stop hammering a process that has died. */
  while?: () => boolean;
}): RunningLoad {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const until = Date.now() + (options.maxMs ?? 60_000);
  const loops = Array.from({ length: options.clients }, async (_, client) => {
    for (
      let i = 0;
      i < (options.maxSteps ?? 2_000) && !stopped && Date.now() < until && (options.while?.() ?? true);
      i++
    ) {
      outcomes.push(...(await options.step(client, i)));
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20));
    }
  });
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return [...outcomes].sort((a, b) => a.started - b.started);
    },
  };
}

/** Whether `body` is the documented error body with this code: `{message, detail}`. */
export function isErrorBody(body: unknown, code: string): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { message, detail } = body as Record<string, unknown>;
  return message === code && typeof detail === 'string';
}

/** `{op: {status: count}}` and the slowest answer, for the figures a fault test prints. */
export function summarize(outcomes: readonly Outcome[]): string {
  const byOp = new Map<string, Map<string, number>>();
  for (const o of outcomes) {
    const counts = byOp.get(o.op) ?? new Map<string, number>();
    const key = o.status === 0 ? (o.error ?? 'no answer') : String(o.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    byOp.set(o.op, counts);
  }
  const parts = [...byOp].map(
    ([op, counts]) =>
      `${op}: ${[...counts]
        .sort()
        .map(([s, n]) => `${n}×${s}`)
        .join(' ')}`,
  );
  const slowest = outcomes.reduce((max, o) => Math.max(max, latency(o)), 0);
  return `${outcomes.length} requests (${parts.join('; ')}), slowest ${slowest} ms`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
