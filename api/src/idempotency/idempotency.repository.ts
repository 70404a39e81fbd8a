import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';

/** A reply a handler returns (openapi.yaml's documented success): what a replay answers again. */
export interface StoredReply {
  status: number;
  body: unknown;
}

/** A key as the database remembers it. */
export interface KeyRecord {
  fingerprint: string;
  reply: StoredReply;
  /** Seconds until it expires, by the database's clock. */
  ttlSeconds: number;
}

/** The only code that reads or writes `idempotency_keys` (migrations/0006). */
export class IdempotencyRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The live record of a key; `undefined` when there is none or it has expired. */
  async find(scope: string, key: string): Promise<KeyRecord | undefined> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select([
        'fingerprint',
        'status',
        'body',
        sql<number>`ceil(extract(epoch from expires_at - now()))::int`.as('ttl_seconds'),
      ])
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return (
      row && {
        fingerprint: row.fingerprint,
        reply: { status: Number(row.status), body: row.body },
        ttlSeconds: Math.max(1, Number(row.ttl_seconds)),
      }
    );
  }

  /**
   * Records a key inside the caller's transaction (the one that did the request's work). Answers
   * false, writing nothing, when a live record of the key exists: a concurrent duplicate got there
   * first, and this insert waited for its transaction to commit. An expired record is replaced.
   */
  async insert(
    trx: Transaction<DB>,
    scope: string,
    key: string,
    fingerprint: string,
    reply: StoredReply,
    ttlSeconds: number,
  ): Promise<boolean> {
    const row = await trx
      .insertInto('idempotency_keys')
      .values({
        scope,
        key,
        fingerprint,
        status: reply.status,
        body: JSON.stringify(reply.body ?? null),
        expires_at: sql<Date>`now() + ${ttlSeconds}::int * interval '1 second'`,
      })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'key'])
          .doUpdateSet((eb) => ({
            fingerprint: eb.ref('excluded.fingerprint'),
            status: eb.ref('excluded.status'),
            body: eb.ref('excluded.body'),
            created_at: eb.ref('excluded.created_at'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where('idempotency_keys.expires_at', '<=', sql<Date>`now()`),
      )
      .returning('scope')
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Deletes at most `limit` expired records, oldest first; answers how many it deleted. Rows another
   * instance's cleanup holds are skipped rather than waited for.
   */
  async deleteExpired(limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('idempotency_keys')
      .where((eb) =>
        eb(
          eb.refTuple('scope', 'key'),
          'in',
          eb
            .selectFrom('idempotency_keys')
            .select(['scope', 'key'])
            .where('expires_at', '<=', sql<Date>`now()`)
            .orderBy('expires_at')
            .limit(limit)
            .forUpdate()
            .skipLocked()
            .$asTuple('scope', 'key'),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
