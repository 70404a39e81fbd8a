/**
 * A caller whose chats are small enough to read (SCAN_MAX_MESSAGES) is searched in one statement:
 * each of their chats read once, newest first, every message that matches any tier kept with the
 * best tier it matches, then the first `limit` by tier and, within a tier, newest first. That is
 * what running the tiers one after another gives (each filling what the ones above it left, never
 * repeating a message), but the messages are read once rather than once per tier: a tier that
 * matches little ("mess" as a stem before its completions) read the caller's 20,000 messages in
 * 10–20 ms on its own before the next tier read them again (issue 14).
 */
import { sql, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { Term } from './search-phrase.ts';
import { headlineColumns, toHit, type MarkedRow } from './search-messages.ts';
import type { TierQuery } from './search-queries.ts';
import { bound, type StageContext } from './search-stage.ts';
import type { FoundRow } from './search-types.ts';

/**
 * The caller's messages the tiers match, best tier first, each with the first tier it matches.
 * `corrections`: the words a trailing `corrected` tier searches, highlighted in its rows only.
 */
export async function findTiered(
  trx: Transaction<DB>,
  ctx: StageContext,
  tiers: TierQuery[],
  terms: Term[],
  corrections: string[] = [],
): Promise<FoundRow[]> {
  if (tiers.length === 0) return [];
  // Each tier's query holds the one above it (exact holds the phrase, stems the exact words,
  // prefixes the stems, corrections the words as written): the last one is what any tier matches.
  const any = tiers.at(-1)!.query;
  const rank = sql`case ${sql.join(
    tiers.map((t, i) => sql`when m.search_vector @@ (${t.query}) then ${sql.lit(i)}`),
    sql` `,
  )} end`;
  const plain = headlineColumns(terms, [], 'hit');
  const corrected = headlineColumns(terms, corrections, 'hit');
  const correctedAt = tiers.findIndex((t) => t.match === 'corrected');
  const marked = (column: keyof typeof plain) =>
    correctedAt < 0 || corrections.length === 0
      ? plain[column]
      : sql<string>`case when hit.tier = ${sql.lit(correctedAt)} then ${corrected[column]} else ${plain[column]} end`;

  await bound(trx, ctx);
  // Each chat on its own, newest first through its (chat_id, created_at) index: a planner that
  // does not know how few chats the caller has would otherwise read every message. ts_match_vq,
  // the function form of @@, keeps it off the GiST index, which is slower than reading the chats.
  const { rows } = await sql<MarkedRow & { tier: number }>`
    with hit as (
      select m.id, m.chat_id, m.user_id, m.text, m.created_at, m.seq, m.tier
      from (select chat_id from chat_members where user_id = ${ctx.userId}) c
      cross join lateral (
        select m.id, m.chat_id, m.user_id, m.text, m.created_at, m.seq, ${rank} as tier
        from messages m
        where m.chat_id = c.chat_id and ts_match_vq(m.search_vector, ${any})
        order by tier, m.created_at desc, m.seq desc
        limit ${ctx.limit}
      ) m
      order by m.tier, m.created_at desc, m.seq desc
      limit ${ctx.limit}
    )
    select hit.id, hit.chat_id, hit.user_id, u.user_name, hit.text, hit.created_at, hit.seq, hit.tier,
      ${marked('english')} as marked_english, ${marked('russian')} as marked_russian,
      ${marked('simple')} as marked_simple, ${marked('parts')} as marked_parts
    from hit
    join users u on u.id = hit.user_id
    order by hit.tier, hit.created_at desc, hit.seq desc`.execute(trx);
  return rows.map((r) => toHit(r, tiers[r.tier]!.match));
}
