/**
 * Reading the messages a tier's query matches in the caller's chats, newest first, with the
 * offsets of the matching words.
 */
import { sql, type Expression, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import { HEADLINE_OPTIONS, markedRanges, mergeRanges, START_MARK, STOP_MARK } from './search-highlights.ts';
import { quoteOperand, type Term } from './search-phrase.ts';
import type { Corrections, TierQuery } from './search-queries.ts';
import { bound, memberChats, type StageContext } from './search-stage.ts';
import type { FoundRow, MatchTier } from './search-types.ts';

/**
 * A caller whose chats hold at most this many messages is searched by reading those messages
 * (newest first, each vector matched as it is read) rather than through the GiST index. Measured
 * at 1,000,000 messages (bench/search-scale.ts): the GiST index is lossy, and a scan of it took
 * 80–160 ms for any word, even one no message holds, while reading a caller's 20,000 messages took
 * 14–17 ms; and the planner, misjudging how many rows a tsquery matches, would run one GiST scan
 * per chat of the caller (3.4 s for "one of the" in 40 chats). Past this size the index is used.
 */
export const SCAN_MAX_MESSAGES = 50_000;
/** What glues the parts of a token together: search_glued_parts (migrations/0011) blanks them. */
const GLUE_CHARACTERS = '@./\\:_';
const GLUE = /[@./\\:_]/g;

/**
 * The offsets of a hit's matching words come from ts_headline, per configuration, run on the
 * (at most `limit`) kept rows only: the stems whole, the tokens also as prefixes, the parts of
 * glued tokens, and the corrections searched. `table` names the relation holding `text`.
 */
export function headlineColumns(terms: Term[], corrections: string[], table: string) {
  const corrected = corrections.map(quoteOperand);
  const stems = [...terms.map((t) => t.operand), ...corrected].join(' | ');
  const tokens = [...terms.map((t) => (t.prefix ? `${t.operand}:*` : t.operand)), ...corrected].join(' | ');
  const parts = terms
    .map((t) => {
      const operand = quoteOperand(t.word.replace(GLUE, ' '));
      return t.prefix ? `${operand}:*` : operand;
    })
    .join(' | ');
  const headline = (config: 'english' | 'russian' | 'simple', operands: string, blank = '') =>
    sql<string>`ts_headline(${sql.lit(config)}::regconfig,
      translate(${sql.ref(`${table}.text`)}, ${START_MARK + STOP_MARK + blank}, ${' '.repeat(2 + blank.length)}),
      to_tsquery(${sql.lit(config)}::regconfig, ${operands}), ${HEADLINE_OPTIONS})`;
  return {
    english: headline('english', stems),
    russian: headline('russian', stems),
    simple: headline('simple', tokens),
    // The parts of glued tokens: the same text with the glue blanked, one character for one, so
    // that offsets stay those of the text ("site" in tjimenez@site.gmu.edu).
    parts: headline('simple', parts, GLUE_CHARACTERS),
  };
}

/** A kept row with its four marked texts, as a hit. */
export interface MarkedRow {
  id: string;
  chat_id: string;
  user_id: string;
  user_name: string | null;
  text: string;
  created_at: Date;
  seq: number | string;
  marked_english: string;
  marked_russian: string;
  marked_simple: string;
  marked_parts: string;
}

export function toHit(r: MarkedRow, match: MatchTier): FoundRow {
  return {
    message_id: r.id,
    chat_id: r.chat_id,
    user_id: r.user_id,
    user_name: r.user_name,
    text: r.text,
    created_at: r.created_at,
    seq: Number(r.seq),
    match,
    highlights: mergeRanges(
      r.text,
      [r.marked_english, r.marked_russian, r.marked_simple, r.marked_parts].flatMap((m) =>
        markedRanges(m, r.text.length),
      ),
    ),
  };
}

/**
 * The newest messages of the user's chats that the tier's query matches, as many as the tiers
 * above left room for, without those already found.
 */
export async function findMessages(
  trx: Transaction<DB>,
  ctx: StageContext,
  tier: TierQuery,
  terms: Term[],
  corrections: Corrections,
  found: FoundRow[],
): Promise<FoundRow[]> {
  const room = ctx.limit - found.length;
  if (room <= 0) return [];
  const marked = headlineColumns(terms, [...corrections.values()].flat(), 'hit');

  await bound(trx, ctx);
  const rows = await trx
    .with('hit', () =>
      matching(
        trx,
        ctx,
        tier.query,
        !tier.indexed,
        found.map((f) => f.message_id),
        room,
      )
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.id', 'm.chat_id', 'm.user_id', 'u.user_name', 'm.text', 'm.created_at', 'm.seq'])
        .orderBy('m.created_at', 'desc')
        .orderBy('m.seq', 'desc')
        .limit(room),
    )
    .selectFrom('hit')
    .select([
      'hit.id',
      'hit.chat_id',
      'hit.user_id',
      'hit.user_name',
      'hit.text',
      'hit.created_at',
      'hit.seq',
      marked.english.as('marked_english'),
      marked.russian.as('marked_russian'),
      marked.simple.as('marked_simple'),
      marked.parts.as('marked_parts'),
    ])
    .orderBy('hit.created_at', 'desc')
    .orderBy('hit.seq', 'desc')
    .execute();
  return rows.map((r) => toHit(r, tier.match));
}

/**
 * The caller's messages that `query` matches, newest first, at most `room`, without `exclude`.
 * When the caller's chats are small enough to read (`ctx.scan`), each chat is read on its own,
 * newest first through its (chat_id, created_at) index, until it has given `room` matches: a
 * planner that does not know how few chats the caller has would otherwise read every message.
 * Otherwise the GiST index narrows the query, unless `unindexed` (a bare prefix).
 */
export function matching(
  trx: Transaction<DB>,
  ctx: StageContext,
  query: RawBuilder<unknown>,
  unindexed: boolean,
  exclude: string[],
  room: number,
) {
  if (ctx.scan) {
    return trx.selectFrom(memberChats(trx, ctx.userId).as('c')).innerJoinLateral(
      (eb) => {
        let q = eb
          .selectFrom('messages as m')
          .selectAll('m')
          .whereRef('m.chat_id', '=', 'c.chat_id')
          .where(vectorMatches(query, true));
        if (exclude.length > 0) q = q.where('m.id', 'not in', exclude);
        return q.orderBy('m.created_at', 'desc').orderBy('m.seq', 'desc').limit(room).as('m');
      },
      (join) => join.onTrue(),
    );
  }
  let q = trx
    .selectFrom('messages as m')
    .where('m.chat_id', 'in', memberChats(trx, ctx.userId))
    .where(vectorMatches(query, unindexed));
  if (exclude.length > 0) q = q.where('m.id', 'not in', exclude);
  return q;
}

/**
 * `search_vector @@ query`. When the GiST index cannot narrow the query (every word a bare
 * prefix), the function form keeps the planner off it: a scan of the index that returns every row
 * is slower than reading the user's own chats.
 */
function vectorMatches(query: RawBuilder<unknown>, unindexed: boolean): Expression<SqlBool> {
  return unindexed
    ? sql<SqlBool>`ts_match_vq(m.search_vector, ${query})`
    : sql<SqlBool>`m.search_vector @@ (${query})`;
}
