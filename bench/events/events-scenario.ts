/**
 * The `events` scenario: thousands of `GET /v1/events` streams held open on two API instances, a
 * poster sending messages at a steady rate through both, and every `message.created` timed from the
 * poster's 201 to its arrival on each stream that should get it. Also counts what never arrived,
 * what arrived twice, and the API processes' memory per idle stream.
 */
import { readFileSync } from 'node:fs';
import { ApiClient } from '../setup.ts';
import { rssKb, sleep, type Server } from '../processes.ts';
import { percentile, type EventsResult } from '../report.ts';
import { pool, seedEvents, type EventsShape, type EventsUser } from './events-seed.ts';
import { openSse, type SseConnection } from './sse-reader.ts';

export interface EventsOptions extends EventsShape {
  /** messages the poster sends */
  readonly messages: number;
  /** messages per second the poster keeps to */
  readonly postRate: number;
  /** after the last post, how long deliveries may still arrive before the missing ones count as lost */
  readonly graceMs: number;
}

/** Streams opened at once while connecting (each costs the API a query and a session check). */
const CONNECT_WIDTH = 64;
/** Posts in flight at most: a poster that falls behind sends late, it does not pile up. */
const POST_WIDTH = 64;

/** The soft limit on open files of this process (Linux), or undefined where unknown. */
function openFilesLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * The message's id in a `message.created` event's data, without parsing the whole JSON: the data is
 * PostgreSQL's jsonb text (`"key": value`), in which `message_id` appears only in the message.
 */
const MESSAGE_ID = /"message_id": ?"([0-9a-f-]{36})"/;
const messageIdOf = (data: string): string | undefined => MESSAGE_ID.exec(data)?.[1];

export async function runEvents(
  instances: readonly Server[],
  databaseUrl: string,
  options: EventsOptions,
  log: (line: string) => void,
): Promise<EventsResult> {
  // Every stream is a socket in this process (the API instances have their own limits).
  const limit = openFilesLimit();
  if (limit !== undefined && limit < options.streams + 256) {
    throw new Error(
      `${options.streams} streams need more open files than this process may have (ulimit -n ${limit}): ` +
        `raise it (make bench does, to the hard limit) or pass fewer --streams`,
    );
  }
  const apis = instances.map((s) => new ApiClient(s.url));
  const fixture = await seedEvents(apis, databaseUrl, options, log);
  const { users, chats } = fixture;
  // Stream j is user ⌊j / streamsPerUser⌋'s; a user's streams alternate between the instances.
  const userOf = (stream: number): number => Math.floor(stream / options.streamsPerUser);
  const streamsOf = (user: number): number[] => {
    const first = user * options.streamsPerUser;
    const last = Math.min(options.streams, first + options.streamsPerUser);
    return Array.from({ length: Math.max(0, last - first) }, (_, i) => first + i);
  };

  await sleep(1_000);
  const rssBefore = instances.map((s) => rssKb(s.pid));
  const clientBefore = process.memoryUsage.rss();

  // What arrived: message id → stream → arrival time; and each stream's event ids, for duplicates.
  const arrivals = new Map<string, Map<number, number>>();
  const seenIds = Array.from({ length: options.streams }, () => new Set<string>());
  let duplicated = 0;
  let closing = false;
  const ended: string[] = [];
  let started = performance.now();
  const connections = await pool(
    Array.from({ length: options.streams }, (_, j) => j),
    CONNECT_WIDTH,
    (j): Promise<SseConnection> =>
      openSse(
        `${(instances[j % instances.length] as Server).url}/v1/events`,
        (users[userOf(j)] as EventsUser).token,
        {
          onRecord: ({ id, event, data }) => {
            const at = performance.now();
            if (id !== undefined) {
              if (seenIds[j]?.has(id)) duplicated += 1;
              seenIds[j]?.add(id);
            }
            if (event !== 'message.created') return;
            const messageId = messageIdOf(data);
            if (!messageId) return;
            let byStream = arrivals.get(messageId);
            if (!byStream) arrivals.set(messageId, (byStream = new Map()));
            if (!byStream.has(j)) byStream.set(j, at);
          },
          onEnd: (reason) => {
            if (!closing) ended.push(`stream ${j}: ${reason}`);
          },
        },
      ),
  );
  const connectSeconds = (performance.now() - started) / 1000;
  log(
    `  ${connections.length} streams open on ${instances.length} instances in ${connectSeconds.toFixed(1)} s`,
  );
  await sleep(2_000);
  const rssIdle = instances.map((s) => rssKb(s.pid));
  const clientKbPerStream = (process.memoryUsage.rss() - clientBefore) / 1024 / options.streams;

  // The poster: message i goes to chat i mod n, from its members in turn, through the instances in turn.
  const posted = new Map<string, { sent: number; at: number; chat: number }>();
  const postLatencies: number[] = [];
  let postErrors = 0;
  let firstPostError: string | undefined;
  started = performance.now();
  await pool(
    Array.from({ length: options.messages }, (_, i) => i),
    POST_WIDTH,
    async (i) => {
      const due = started + (i * 1000) / options.postRate;
      if (due > performance.now()) await sleep(due - performance.now());
      const chat = i % chats.length;
      const { id: chatId, members } = chats[chat]!;
      const author = users[members[Math.floor(i / chats.length) % members.length]!] as EventsUser;
      const sent = performance.now();
      try {
        const res = await fetch(`${instances[i % instances.length]!.url}/v1/chats/${chatId}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `session_id ${author.token}` },
          body: JSON.stringify({ message: `bench events message ${i}` }),
        });
        const at = performance.now();
        const text = await res.text();
        if (res.status !== 201) throw new Error(`answered ${res.status}: ${text.slice(0, 200)}`);
        posted.set((JSON.parse(text) as { message_id: string }).message_id, { sent, at, chat });
        postLatencies.push(at - sent);
      } catch (err) {
        postErrors += 1;
        firstPostError ??= String(err);
      }
    },
  );
  const postSeconds = (performance.now() - started) / 1000;

  // Every stream of every member of the message's chat should get it (the author's own included).
  const expectedStreams = (chat: number): number[] => chats[chat]!.members.flatMap((u) => streamsOf(u));
  const expected = [...posted.values()].reduce((n, p) => n + expectedStreams(p.chat).length, 0);
  const delivered = (): number => {
    let n = 0;
    for (const [messageId, { chat }] of posted) {
      const byStream = arrivals.get(messageId);
      if (byStream) for (const j of expectedStreams(chat)) if (byStream.has(j)) n += 1;
    }
    return n;
  };
  const graceEnd = performance.now() + options.graceMs;
  while (delivered() < expected && performance.now() < graceEnd) await sleep(100);
  closing = true;
  for (const c of connections) c.close();

  const latencies: number[] = [];
  const fromSent: number[] = [];
  let unexpected = 0;
  for (const [messageId, byStream] of arrivals) {
    const post = posted.get(messageId);
    if (!post) {
      unexpected += byStream.size;
      continue;
    }
    const wanted = new Set(expectedStreams(post.chat));
    for (const [j, at] of byStream) {
      if (!wanted.has(j)) {
        unexpected += 1;
        continue;
      }
      latencies.push(at - post.at);
      fromSent.push(at - post.sent);
    }
  }
  latencies.sort((a, b) => a - b);
  fromSent.sort((a, b) => a - b);
  postLatencies.sort((a, b) => a - b);
  const sum = (kbs: number[]): number => kbs.reduce((a, b) => a + b, 0);
  return {
    streams: options.streams,
    users: users.length,
    chats: chats.length,
    instances: instances.length,
    connectSeconds,
    posted: posted.size,
    postErrors,
    ...(firstPostError ? { firstPostError } : {}),
    postRate: posted.size / postSeconds,
    postP50Ms: percentile(postLatencies, 50),
    postP99Ms: percentile(postLatencies, 99),
    expected,
    delivered: latencies.length,
    lost: expected - latencies.length,
    duplicated,
    unexpected,
    // Deliveries that came before the poster had its 201 (the latency is then negative).
    beforeResponse: latencies.filter((ms) => ms < 0).length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
    fromSentP50Ms: percentile(fromSent, 50),
    fromSentP99Ms: percentile(fromSent, 99),
    streamsEnded: ended.length,
    ...(ended.length > 0 ? { firstEnded: ended[0] } : {}),
    rssBeforeMiB: sum(rssBefore) / 1024,
    rssIdleMiB: sum(rssIdle) / 1024,
    kbPerStream: (sum(rssIdle) - sum(rssBefore)) / options.streams,
    clientKbPerStream,
  };
}
