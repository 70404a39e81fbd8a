import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';

/** The types of the stream's logged events (openapi.yaml, GET /v1/events, `x-events`). */
export type LoggedEventType =
  | 'message.created'
  | 'message.edited'
  | 'message.deleted'
  | 'message.thread_updated'
  | 'reaction.added'
  | 'reaction.removed'
  | 'chat.created'
  | 'chat.member_added'
  | 'chat.member_removed'
  | 'chat.deleted'
  | 'chat.read'
  | 'chat.updated'
  | 'chat.pinned'
  | 'chat.unpinned'
  | 'user.deleted';

/** Events that change who is a member of their chat: `userIds` names whose membership. */
export const MEMBERSHIP_EVENTS: ReadonlySet<string> = new Set([
  'chat.created',
  'chat.member_added',
  'chat.member_removed',
  'chat.deleted',
]);

export interface NewEvent {
  type: LoggedEventType;
  chatId: string;
  data: object;
  /**
   * Membership events: whose membership changes. chat.read: the only user who gets it.
   * message.created: the members it mentions (their streams mark it `mentioned`).
   */
  userIds?: string[];
  /** chat.read: the session that caused it, which does not get it back. */
  originSession?: string;
}

export interface LoggedEvent {
  /** The cursor: a decimal bigint, in commit order. */
  id: bigint;
  type: LoggedEventType;
  chatId: string;
  /** The event's data, as JSON text (written to every subscriber as it is). */
  json: string;
  userIds: string[] | null;
  originSession: string | null;
}

/** A timestamptz as JavaScript's toISOString() writes it (milliseconds, UTC, `Z`); null stays null. */
const isoTime = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * SQL text: a select of one row, `last`, that takes as many event ids as `rows` has, as one block:
 * select it from the writers' lock (every writer of events holds it while it takes ids). With
 * `eventId`, a statement that logs several events gives them ids in an order of its choosing: the
 * order an INSERT … SELECT … ORDER BY inserts its rows in, and so draws ids in, is not promised.
 */
export const takeEventIds = (rows: string): string =>
  `select setval(pg_get_serial_sequence('events', 'id'),
     nextval(pg_get_serial_sequence('events', 'id')) + (select count(*) from ${rows}) - 1) as last`;

/** SQL text: the id of an event, in a select from `ids` (takeEventIds): its place in `order`. */
export const eventId = (order: string): string =>
  `ids.last - count(*) over () + row_number() over (order by ${order})`;

/**
 * SQL text: the data of a `message.created` event, built by the database from a stored message row
 * `m` and its author `u` (the Message of openapi.yaml as the history shows it: a new message has no
 * reactions and no replies yet). Shared by every statement that stores messages.
 */
export const messageCreatedData = (m: string, u: string): string => `jsonb_build_object(
  'chat_id', ${m}.chat_id,
  'message', jsonb_build_object(
    'message_id', ${m}.id,
    'chat_id', ${m}.chat_id,
    'user_id', ${m}.user_id,
    'user_name', ${u}.user_name,
    'text', ${m}.text,
    'created_at', ${isoTime(`${m}.created_at`)},
    'edited_at', ${isoTime(`${m}.edited_at`)},
    'attachments', ${m}.attachments,
    'reply_to', ${m}.reply_to,
    'reply_count', ${m}.reply_count,
    'last_reply_at', ${isoTime(`${m}.last_reply_at`)},
    'reactions', '[]'::jsonb,
    'mentions', to_jsonb(${m}.mentions)
  )
)`;

/** Where a subscriber starts: the newest event id, the oldest kept, and its chats as of the newest. */
export interface LogSnapshot {
  head: bigint;
  oldest: bigint;
  chatIds: string[];
}

/**
 * Serializes the writers of events from their insert to their commit (a transaction-scoped lock),
 * so ids become visible in id order. Any constant: it only has to be the same for every writer.
 */
export const WRITERS_LOCK = 0x65_76_65_6e_74_73n; // "events"

/**
 * The event log in PostgreSQL (migrations/0008): written in the transaction of each change, read
 * by the stream hub after a notification and by a subscriber that resumes.
 */
export class EventLog {
  constructor(private readonly db: Kysely<DB>) {}

  /** Appends events in the caller's transaction; they commit (and become visible) with it. */
  async append(trx: Transaction<DB>, events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await sql`select pg_advisory_xact_lock(${WRITERS_LOCK})`.execute(trx);
    await trx
      .insertInto('events')
      .values(
        events.map((e) => ({
          chat_id: e.chatId,
          type: e.type,
          data: JSON.stringify(e.data),
          user_ids: e.userIds ?? null,
          origin_session: e.originSession ?? null,
        })),
      )
      .execute();
  }

  /**
   * Appends the `message.created` events of messages this transaction stored, in seq order, built
   * by the database from the rows themselves: the post path's one statement, with no round trip of
   * the messages (the data is the Message of openapi.yaml, as the history shows it: a new message
   * has no reactions and no replies yet). `user_ids` lists the members it mentions, but its author.
   */
  async appendCreated(trx: Transaction<DB>, messageIds: string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await sql`
      with writers as (select pg_advisory_xact_lock(${WRITERS_LOCK})),
      new_rows as (select * from messages where id = any(${messageIds}::uuid[])),
      ids as (${sql.raw(takeEventIds('new_rows'))} from writers)
      insert into events (id, chat_id, type, data, user_ids) overriding system value
      select ${sql.raw(eventId('m.seq'))}, m.chat_id, 'message.created', ${sql.raw(messageCreatedData('m', 'u'))},
        nullif(array_remove(m.mentions, m.user_id), '{}')
      from ids, new_rows m join users u on u.id = m.user_id`.execute(trx);
  }

  /** Up to `limit` events after `afterId`, oldest first (the hub's live read). */
  async after(afterId: bigint, limit: number): Promise<LoggedEvent[]> {
    return this.select((q) => q.where('id', '>', afterId.toString()), afterId, limit);
  }

  /**
   * Up to `limit` events in (`afterId`, `uptoId`] that a user may need: those of the given chats
   * and those naming the user (a subscriber's replay).
   */
  async forUser(
    afterId: bigint,
    uptoId: bigint,
    chatIds: string[],
    userId: string,
    limit: number,
  ): Promise<LoggedEvent[]> {
    return this.select(
      (q) =>
        q
          .where('id', '>', afterId.toString())
          .where('id', '<=', uptoId.toString())
          .where((eb) =>
            eb.or([
              ...(chatIds.length > 0 ? [eb('chat_id', 'in', chatIds)] : []),
              eb(sql<boolean>`user_ids @> array[${userId}]::uuid[]`, '=', true),
            ]),
          ),
      afterId,
      limit,
    );
  }

  /** The membership events naming the user in (`afterId`, `uptoId`], oldest first. */
  async membershipChanges(afterId: bigint, uptoId: bigint, userId: string): Promise<LoggedEvent[]> {
    return this.select(
      (q) =>
        q
          .where('id', '>', afterId.toString())
          .where('id', '<=', uptoId.toString())
          .where('type', 'in', [...MEMBERSHIP_EVENTS])
          .where(sql<boolean>`user_ids @> array[${userId}]::uuid[]`),
      afterId,
      100_000,
    );
  }

  /**
   * The newest and oldest event ids and the user's chats, in one statement (one snapshot): since
   * every membership change commits with its event, the chats are exactly those as of `head`.
   */
  async snapshot(userId: string): Promise<LogSnapshot> {
    const row = await sql<{ head: string; oldest: string; chat_ids: string[] | null }>`
      select
        (select coalesce(max(id), 0) from events)::text as head,
        (select coalesce(min(id), 0) from events)::text as oldest,
        (select array_agg(chat_id) from chat_members where user_id = ${userId}) as chat_ids
    `.execute(this.db);
    const r = row.rows[0]!;
    return { head: BigInt(r.head), oldest: BigInt(r.oldest), chatIds: r.chat_ids ?? [] };
  }

  /** The newest event id (where a hub starts). */
  async head(): Promise<bigint> {
    const row = await sql<{ head: string }>`select coalesce(max(id), 0)::text as head from events`.execute(
      this.db,
    );
    return BigInt(row.rows[0]!.head);
  }

  /**
   * Deletes the events older than `before`, in batches; answers how many it deleted. The newest
   * event always stays, so the log's head never goes back and an old cursor reads as too old.
   */
  async deleteOlderThan(before: Date, batch = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await sql`
        delete from events where id in (
          select id from events
          where created_at < ${before} and id < (select max(id) from events)
          order by id limit ${batch}
        )`.execute(this.db);
      const n = Number(result.numAffectedRows ?? 0n);
      total += n;
      if (n < batch) return total;
    }
  }

  private async select(
    where: (q: ReturnType<EventLog['base']>) => ReturnType<EventLog['base']>,
    _afterId: bigint,
    limit: number,
  ): Promise<LoggedEvent[]> {
    // By the column, not the selected text (where "10" < "9").
    const rows = await where(this.base())
      .orderBy(sql`events.id`)
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: BigInt(r.id),
      type: r.type as LoggedEventType,
      chatId: r.chat_id,
      json: r.data,
      userIds: r.user_ids,
      originSession: r.origin_session,
    }));
  }

  private base() {
    return this.db
      .selectFrom('events')
      .select([
        sql<string>`id::text`.as('id'),
        'type',
        'chat_id',
        sql<string>`data::text`.as('data'),
        'user_ids',
        'origin_session',
      ]);
  }
}
