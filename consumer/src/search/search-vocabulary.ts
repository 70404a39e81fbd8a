/**
 * What the caller's own vocabulary (search_chat_words, migrations/0011: per chat, how many messages
 * hold each token) answers before any message is read: whether every word is there as written, and
 * the most frequent completions of a prefix.
 */
import { sql, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { Term } from './search-phrase.ts';
import type { Completion } from './search-queries.ts';
import { bound, memberChats, type StageContext } from './search-stage.ts';

/**
 * A prefix is first narrowed by at most this many whole tokens, the most frequent in the caller's
 * chats: one GiST scan of a few lexemes. GiST keeps tsvectors as hashed lexemes, which answer whole
 * lexemes but not prefixes, and every lexeme ORed in widens the scan (issue 14: 87 completions of
 * "оста" took 171 ms). Rarer completions are reached only when these leave room in the results.
 */
export const MAX_COMPLETIONS = 16;
/**
 * Whether the caller's chats hold every word as written (each word's longest token, by the
 * per-chat vocabulary): when one is missing, the phrase and exact tiers cannot match and are
 * not run, which spares a typo those queries.
 */
export async function allWritten(trx: Transaction<DB>, ctx: StageContext, terms: Term[]): Promise<boolean> {
  await bound(trx, ctx);
  const { rows } = await sql<{ n: number }>`
    select count(*) as n
    from unnest(${terms.map((t) => t.word)}::text[]) as t (w)
    where not exists (
      select from search_chat_words s
      where s.chat_id in (select chat_id from chat_members where user_id = ${ctx.userId})
        and s.messages > 0
        and s.word = (
          select x from unnest(tsvector_to_array(to_tsvector('simple', t.w))) as x
          order by char_length(x) desc, x limit 1
        ) collate "C"
    )`.execute(trx);
  return Number(rows[0]?.n ?? 0) === 0;
}

/** Whether a word of the phrase is a stop word of English or Russian (the vector's stemmed parts drop it). */
export async function hasStopWord(trx: Transaction<DB>, ctx: StageContext, terms: Term[]): Promise<boolean> {
  await bound(trx, ctx);
  const { rows } = await sql<{ stop: boolean | null }>`
    select bool_or(to_tsvector('english', t.w) = ''::tsvector or to_tsvector('russian', t.w) = ''::tsvector) as stop
    from unnest(${terms.map((t) => t.word)}::text[]) as t (w)`.execute(trx);
  return rows[0]?.stop === true;
}

/**
 * The caller's most frequent tokens that start with the word's token (its longest, when the word
 * is several: "example.com/guide" is a URL, a host and a path): a range of the per-chat
 * vocabulary's primary key in each of the caller's chats, summed.
 */
export async function complete(trx: Transaction<DB>, ctx: StageContext, word: string): Promise<Completion> {
  await bound(trx, ctx);
  const token = sql<string>`(
    select t from unnest(tsvector_to_array(to_tsvector('simple', ${word}))) as t
    order by char_length(t) desc, t limit 1
  ) collate "C"`;
  const rows = await trx
    .selectFrom('search_chat_words')
    .select(['word', sql<number>`sum(messages)`.as('n')])
    .where('chat_id', 'in', memberChats(trx, ctx.userId))
    .where('word', '>=', token)
    .where('word', '<', sql<string>`${token} || chr(1114111)`)
    .where('messages', '>', 0)
    .groupBy('word')
    .orderBy(sql`sum(messages)`, 'desc')
    .orderBy('word')
    .limit(MAX_COMPLETIONS + 1)
    .execute();
  return { top: rows.slice(0, MAX_COMPLETIONS).map((r) => r.word), more: rows.length > MAX_COMPLETIONS };
}
