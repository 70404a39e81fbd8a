import { CompiledQuery, sql, type Kysely } from 'kysely';
import { DependencyUnavailableError, type DB } from '@messenger/shared';
import { eventId, messageCreatedData, takeEventIds, WRITERS_LOCK } from '../events/event-log.ts';
import type { Attachment } from '../schemas.ts';

/** An Idempotency-Key to record with a post, and the reply a repeat gets (known before: ids are ours). */
export interface KeyRecordToWrite {
  scope: string;
  key: string;
  fingerprint: string;
  ttlSeconds: number;
  status: number;
  body: unknown;
}

/**
 * One message a request posts with nothing to resolve first: no reply to a thread, no `@mention`
 * (those go through `MessagesRepository.appendMany`'s transaction). Its id is chosen here, so the
 * reply an Idempotency-Key records is known before the statement runs.
 */
export interface PlainPost {
  id: string;
  chatId: string;
  userId: string;
  text: string;
  attachments: Attachment[];
  key?: KeyRecordToWrite;
}

/** What became of a post: stored, its chat gone, or its Idempotency-Key recorded by a duplicate. */
export type PostOutcome = 'stored' | 'chat-not-found' | 'key-taken';

/**
 * Posts any number of plain messages, to any chats, in one statement and so one round trip and one
 * commit (autocommit), with the same guarantees as the transaction it replaces:
 * - each chat's row is locked (in id order, so two statements sharing chats cannot deadlock) while
 *   its next seqs are taken, and stays locked until the commit: a chat's seqs commit in order, so a
 *   reader paging by seq never passes a message that has yet to commit;
 * - an Idempotency-Key is recorded with its message, after the chat's lock as the transaction does;
 *   a key a concurrent duplicate recorded first stores nothing for that request (its seq is skipped,
 *   as a deleted message's is);
 * - the other members' unread counts and the `message.created` events (under the event log's
 *   writers' lock, taken last) commit with the messages.
 * The messages of a batch get their seqs in the order given. Parameters are arrays, so the statement
 * text is the same for any batch (one plan). Used by the API's group commit and by `make bench`'s
 * ceiling for posting, which must run exactly this statement.
 *
 * Its last parameter is a deadline (ms since the epoch, by the server's clock; null for none): a
 * statement the server starts after it writes nothing and answers no rows. An autocommit statement
 * commits whether or not anyone still waits for it: one the server reads only after the API gave up
 * on it (a frozen server, thawed) would store a post the client was told had failed.
 */
export const POST_STATEMENT = `
with req as (
  select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                       $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::int[])
    with ordinality as r(id, chat_id, user_id, text, attachments,
                         key_scope, key_name, fingerprint, reply_status, reply_body, ttl, ord)
  where $12::float8 is null or (select extract(epoch from clock_timestamp()) * 1000) < $12::float8
),
per_chat as (select chat_id, count(*)::int as n from req group by chat_id),
locked as (
  select c.id from chats c join per_chat p on p.chat_id = c.id order by c.id for update of c
),
bump as (
  update chats c
  set last_message_seq = c.last_message_seq + p.n, last_message_at = now()
  from per_chat p
  where c.id = p.chat_id and c.id in (select id from locked)
  returning c.id, c.last_message_seq - p.n as base
),
keys as (
  insert into idempotency_keys as k (scope, key, fingerprint, status, body, expires_at)
  select r.key_scope, r.key_name, r.fingerprint, r.reply_status, r.reply_body::jsonb,
         now() + r.ttl * interval '1 second'
  from req r join bump b on b.id = r.chat_id
  where r.key_name is not null
  on conflict (scope, key) do update
    set fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body,
        created_at = excluded.created_at, expires_at = excluded.expires_at
    where k.expires_at <= now()
  returning k.scope, k.key
),
accepted as (
  select r.*, b.base + row_number() over (partition by r.chat_id order by r.ord) as seq
  from req r join bump b on b.id = r.chat_id
  where r.key_name is null or (r.key_scope, r.key_name) in (select scope, key from keys)
),
ins as (
  insert into messages (id, chat_id, seq, user_id, text, attachments)
  select id, chat_id, seq, user_id, text, attachments::jsonb from accepted order by chat_id, seq
  returning id, chat_id, seq, user_id, text, created_at, edited_at, attachments, reply_to,
            reply_count, last_reply_at, mentions
),
unread as (
  update chat_members cm
  set unread_count = cm.unread_count + x.n
  from (
    select i.chat_id, m.user_id, count(*)::int as n
    from ins i join chat_members m on m.chat_id = i.chat_id and m.user_id <> i.user_id
    group by i.chat_id, m.user_id
  ) x
  where cm.chat_id = x.chat_id and cm.user_id = x.user_id
),
writers as (select pg_advisory_xact_lock(${WRITERS_LOCK}) from (select 1 from ins limit 1) one),
ids as (${takeEventIds('ins')} from writers),
created as (
  insert into events (id, chat_id, type, data) overriding system value
  select ${eventId('m.chat_id, m.seq')}, m.chat_id, 'message.created', ${messageCreatedData('m', 'u')}
  from ids, ins m join users u on u.id = m.user_id
)
select r.ord::int as ord, b.id is not null as chat_found, i.id is not null as stored
from req r left join bump b on b.id = r.chat_id left join ins i on i.id = r.id
order by r.ord`;

/** The statement's parameters for `posts`: one array per column, in the order of the posts, and the deadline. */
export function postParameters(posts: readonly PlainPost[], deadline: number | null = null): unknown[] {
  const column = <T>(value: (p: PlainPost) => T) => posts.map(value);
  return [
    column((p) => p.id),
    column((p) => p.chatId),
    column((p) => p.userId),
    column((p) => p.text),
    column((p) => JSON.stringify(p.attachments)),
    column((p) => p.key?.scope ?? null),
    column((p) => p.key?.key ?? null),
    column((p) => p.key?.fingerprint ?? null),
    column((p) => p.key?.status ?? null),
    column((p) => (p.key ? JSON.stringify(p.key.body ?? null) : null)),
    column((p) => p.key?.ttlSeconds ?? null),
    deadline,
  ];
}

/**
 * Runs the statement for `posts`; answers each post's outcome, in their order. `startWithinMs`: how
 * long after it is sent the server may still start it (see POST_STATEMENT), given with the server's
 * clock; past that the posts fail with 503, stored nowhere.
 */
export async function storePosts(
  db: Kysely<DB>,
  posts: readonly PlainPost[],
  startWithin?: { ms: number; clock: ServerClock },
): Promise<PostOutcome[]> {
  return db.connection().execute(async (connection) => {
    // Measured once a connection is held: waiting for one is not the server's delay.
    const deadline = startWithin
      ? Date.now() + (await startWithin.clock.offsetMs(connection)) + startWithin.ms
      : null;
    const result = await connection.executeQuery<{ ord: number; chat_found: boolean; stored: boolean }>(
      CompiledQuery.raw(POST_STATEMENT, postParameters(posts, deadline)),
    );
    if (result.rows.length === 0) {
      throw new DependencyUnavailableError('database', 'the database started the post after its deadline');
    }
    return result.rows.map((r) => (r.stored ? 'stored' : r.chat_found ? 'key-taken' : 'chat-not-found'));
  });
}

/**
 * The database server's clock against ours, so that a deadline we set can be checked by the server:
 * measured by a round trip (its error is at most half of one), again after `maxAgeMs`.
 */
export class ServerClock {
  private offset: number | undefined;
  private measuredAt = 0;

  constructor(private readonly maxAgeMs = 60_000) {}

  async offsetMs(db: Kysely<DB>): Promise<number> {
    if (this.offset === undefined || Date.now() - this.measuredAt > this.maxAgeMs) {
      const sent = Date.now();
      const { rows } = await sql<{
        now: number;
      }>`select extract(epoch from clock_timestamp()) * 1000 as now`.execute(db);
      const received = Date.now();
      this.offset = Number(rows[0]!.now) - (sent + received) / 2;
      this.measuredAt = received;
    }
    return this.offset;
  }
}
