/**
 * What the fault tests share: when they run, a user and a chat through the HTTP API, the whole
 * history of a chat, and the write ledger (acknowledged writes kept, failed writes not stored).
 */
import { expect } from 'chai';
import type { ApiProcess } from './api-process.ts';
import { call, isErrorBody, runLoad, sleep, uniqueText, type Outcome, type RunningLoad } from './load.ts';
import { uniqueName } from './test-context.ts';

/**
 * The fault tests start private PostgreSQL and Redis servers whatever the run's backends are, so one
 * pass is enough: they run in the real-services pass (DATABASE_URL=postgres://…) and are reported as
 * skipped, with this reason, in the embedded pass.
 */
export const faultTestsEnabled = (process.env.DATABASE_URL ?? '').startsWith('postgres');

export function describeFaults(title: string, body: (this: Mocha.Suite) => void): void {
  if (faultTestsEnabled) {
    describe(title, body);
    return;
  }
  describe(`${title} (skipped: fault tests run in the real-services pass, with DATABASE_URL=postgres://…)`, function () {
    before(function () {
      this.skip();
    });
    body.call(this);
  });
}

export interface Member {
  userName: string;
  password: string;
  token: string;
}

async function ok(outcome: Promise<Outcome>, status: number): Promise<Outcome> {
  const o = await outcome;
  expect(o.status, `${o.op}: ${JSON.stringify(o.body)}`).to.equal(status);
  return o;
}

/** Registers a user and logs them in. */
export async function signUp(url: string, base = 'fault'): Promise<Member> {
  const user = { user_name: uniqueName(base), password: 'fault test password' };
  await ok(call(url, 'register', 'POST', '/v1/auth/register', { body: user }), 201);
  return {
    userName: user.user_name,
    password: user.password,
    token: await logIn(url, user.user_name, user.password),
  };
}

export async function logIn(url: string, userName: string, password: string): Promise<string> {
  const o = await ok(
    call(url, 'login', 'POST', '/v1/auth/login', { body: { user_name: userName, password } }),
    200,
  );
  return (o.body as { session_id: string }).session_id;
}

export async function createChat(url: string, member: Member): Promise<string> {
  const o = await ok(
    call(url, 'chat', 'POST', '/v1/chats', { token: member.token, body: { chat_name: uniqueName('chat') } }),
    201,
  );
  return (o.body as { chat_id: string }).chat_id;
}

/** Posts a message with a text no other message has; `op` labels the outcome. */
export function post(
  url: string,
  member: Member,
  chatId: string,
  op = 'post',
  options: { timeoutMs?: number; headers?: Record<string, string>; text?: string; signal?: AbortSignal } = {},
): Promise<Outcome> {
  const text = options.text ?? uniqueText(op);
  return call(url, op, 'POST', `/v1/chats/${chatId}/messages`, {
    token: member.token,
    body: { message: text },
    text,
    timeoutMs: options.timeoutMs,
    headers: options.headers,
    signal: options.signal,
  });
}

/**
 * The newest 50 messages: the page the load reads, so it is the one in the cache, and a post the
 * cache missed shows as a stale page.
 */
export function readPage(
  url: string,
  member: Member,
  chatId: string,
  op = 'read',
  timeoutMs?: number,
): Promise<Outcome> {
  return call(url, op, 'GET', `/v1/chats/${chatId}/messages?limit=50&order=desc`, {
    token: member.token,
    timeoutMs,
  });
}

/** The texts `readPage` answers now (it must be 200): the newest first. */
export async function pageTexts(url: string, member: Member, chatId: string): Promise<string[]> {
  const o = await ok(readPage(url, member, chatId, 'page'), 200);
  return (o.body as { messages: Array<{ text: string }> }).messages.map((m) => m.text);
}

/** Every text in the chat, oldest first, read page by page. */
export async function historyTexts(url: string, member: Member, chatId: string): Promise<string[]> {
  const texts: string[] = [];
  let from: string | undefined;
  for (let page = 0; page < 100; page++) {
    const route = `/v1/chats/${chatId}/messages?limit=1000${from ? `&from=${encodeURIComponent(from)}` : ''}`;
    const o = await ok(call(url, 'history', 'GET', route, { token: member.token }), 200);
    const body = o.body as { messages: Array<{ text: string }>; next?: { iterator: string } };
    texts.push(...body.messages.map((m) => m.text));
    from = body.next?.iterator;
    if (!from) return texts;
  }
  throw new Error('history did not end within 100 pages');
}

/**
 * Compares posts with what the chat holds: `lost` were acknowledged (201) and are missing,
 * `phantom` got an error (or no answer) and were stored anyway, `duplicated` are stored twice.
 */
export function writeLedger(
  posts: readonly Outcome[],
  stored: readonly string[],
): { acknowledged: number; failed: number; lost: string[]; phantom: string[]; duplicated: string[] } {
  const counts = new Map<string, number>();
  for (const text of stored) counts.set(text, (counts.get(text) ?? 0) + 1);
  const acknowledged = posts.filter((o) => o.status === 201);
  const failed = posts.filter((o) => o.status !== 201);
  return {
    acknowledged: acknowledged.length,
    failed: failed.length,
    lost: acknowledged.filter((o) => !counts.has(o.text!)).map((o) => o.text!),
    phantom: failed
      .filter((o) => counts.has(o.text!))
      .map((o) => `${o.text} (answered ${o.status || o.error})`),
    duplicated: posts.filter((o) => (counts.get(o.text!) ?? 0) > 1).map((o) => o.text!),
  };
}

/** How long a dependency is away in the fault tests (the operator's check uses 10 s: FAULT_OUTAGE_MS=10000). */
export const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_MS ?? 5_000);
/** The issue's bound: every request answered within this while a dependency is frozen. */
export const FROZEN_ANSWER_MS = 3_000;

/** What a freeze under load saw: every request, and those that had to be answered in the bound. */
export interface FreezeRun {
  outcomes: Outcome[];
  /** Requests that started while the server was frozen, early enough that the bound ends before the thaw. */
  frozen: Outcome[];
  /** When the freeze began (ms since the epoch). */
  froze: number;
  /** /check halfway through the freeze. */
  checkFrozen: Awaited<ReturnType<typeof health>>;
  /** ms from the thaw to the first acknowledged write, undefined if none. */
  firstWriteMs: number | undefined;
  /** Every text in the busy chat afterwards (undefined when the API died and cannot be asked). */
  stored: string[] | undefined;
}

/**
 * Freezes a server (SIGSTOP) for `outageMs` under a mixed load of posts and reads, thaws it, waits
 * for the first write to go through, and reads back what the busy chat holds.
 */
export async function freezeUnderLoad(
  api: ApiProcess,
  member: Member,
  chats: { busy: string; quiet: string },
  server: { freeze(): void; thaw(): void },
  { outageMs, answerBoundMs }: { outageMs: number; answerBoundMs: number },
): Promise<FreezeRun> {
  const load = mixedLoad(api, member, chats.busy, chats.quiet, 10_000);
  await sleep(1_000);
  server.freeze();
  const froze = Date.now();
  let checkFrozen: Awaited<ReturnType<typeof health>>;
  try {
    await sleep(outageMs / 2);
    checkFrozen = await health(api);
    await sleep(outageMs / 2);
  } finally {
    server.thaw();
  }
  const thawed = Date.now();
  const probes: Outcome[] = [];
  const firstWriteMs = await firstWrite(api, member, chats.busy, thawed, probes);
  await sleep(1_000);
  const outcomes = [...(await load.stop()), ...probes];
  const frozen = outcomes.filter((o) => o.started >= froze && o.started + answerBoundMs <= thawed);
  const stored = api.alive() ? await historyTexts(api.url, member, chats.busy) : undefined;
  return { outcomes, frozen, froze, checkFrozen, firstWriteMs, stored };
}

/**
 * Asserts the write ledger is clean: every acknowledged post stored once, none stored that got an
 * error. `stored` is undefined when the API died and history could not be read.
 */
export function expectWritesKept(
  outcomes: readonly Outcome[],
  stored: readonly string[] | undefined,
  { someAcknowledged = true } = {},
): void {
  expect(stored, 'the API died: history cannot be read').to.not.equal(undefined);
  const ledger = writeLedger(
    outcomes.filter((o) => o.op === 'post' || o.op === 'probe'),
    stored!,
  );
  if (someAcknowledged) expect(ledger.acknowledged).to.be.greaterThan(0);
  expect({ lost: ledger.lost, phantom: ledger.phantom, duplicated: ledger.duplicated }).to.deep.equal({
    lost: [],
    phantom: [],
    duplicated: [],
  });
}

/** Asserts no stale page: the (cached) newest page is the newest 50 of what the chat holds. */
export async function expectNewestPage(
  url: string,
  member: Member,
  chatId: string,
  stored: readonly string[] | undefined,
): Promise<void> {
  expect(stored, 'the API died: history cannot be read').to.not.equal(undefined);
  expect(await pageTexts(url, member, chatId)).to.deep.equal(stored!.slice(-50).reverse());
}

/** The first few outcomes, one line each, for assertion messages; times relative to `since` if given. */
export function describeOutcomes(outcomes: readonly Outcome[], since?: number): string {
  return outcomes
    .slice(0, 10)
    .map(
      (o) =>
        `${o.op} ${o.status || o.error} after ${o.ended - o.started} ms` +
        (since === undefined ? '' : ` (sent at ${o.started - since} ms)`) +
        `: ${JSON.stringify(o.body)?.slice(0, 200)}`,
    )
    .join('\n');
}

/** The documented answer while a dependency is away. */
export const documented503 = (o: Outcome): boolean =>
  o.status === 503 && isErrorBody(o.body, 'service-unavailable');

/**
 * Four posting clients (post, then read the newest page) and one reading a page of a chat nobody
 * posts to, which therefore stays cached: enough that queries are always in flight when a dependency
 * goes, which is what crashed the API. Stops by itself if the API dies.
 */
export function mixedLoad(
  api: ApiProcess,
  member: Member,
  busyChat: string,
  quietChat: string,
  timeoutMs: number,
): RunningLoad {
  return runLoad({
    clients: 5,
    maxMs: 60_000,
    pauseMs: 10,
    while: () => api.alive(),
    step: async (client) =>
      client === 4
        ? [await readPage(api.url, member, quietChat, 'cached-read', timeoutMs)]
        : [
            await post(api.url, member, busyChat, 'post', { timeoutMs }),
            await readPage(api.url, member, busyChat, 'read', timeoutMs),
          ],
  });
}

/** Posts every 25 ms (at most 400 times) until one is acknowledged: ms from `since` to that answer. */
export async function firstWrite(
  api: ApiProcess,
  member: Member,
  chatId: string,
  since: number,
  probes: Outcome[],
): Promise<number | undefined> {
  for (let i = 0; i < 400 && api.alive(); i++) {
    const o = await post(api.url, member, chatId, 'probe', { timeoutMs: 5_000 });
    probes.push(o);
    if (o.status === 201) return o.ended - since;
    await sleep(25);
  }
  return undefined;
}

/** `/check` as the operator sees it: the status and which dependencies answered. */
export async function health(
  api: ApiProcess,
): Promise<{ status: number; ms: number; database?: boolean; store?: boolean; queue?: boolean }> {
  const o = await call(api.url, 'check', 'GET', '/check', { timeoutMs: 10_000 });
  const checks = (o.body as { checks?: Record<string, { ok: boolean }> } | undefined)?.checks;
  return {
    status: o.status,
    ms: o.ended - o.started,
    database: checks?.database?.ok,
    store: checks?.store?.ok,
    queue: checks?.queue?.ok,
  };
}

/** Polls `/check` every 50 ms until it answers 200: ms from `since`, or undefined after `withinMs`. */
export async function healthyAfter(
  api: ApiProcess,
  since: number,
  withinMs = 10_000,
): Promise<number | undefined> {
  while (Date.now() - since < withinMs && api.alive()) {
    if ((await health(api)).status === 200) return Date.now() - since;
    await sleep(50);
  }
  return undefined;
}
