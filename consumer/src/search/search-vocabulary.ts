/**
 * What the caller's own vocabulary (search_chat_words, migrations/0011: per chat, how many messages
 * hold each token) answers before any message is read: how many messages the caller can reach,
 * whether every word is there as written, and the most frequent completions of a prefix.
 */
import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { Term } from './search-phrase.ts';
import type { Completions } from './search-queries.ts';
import { bound, type StageContext } from './search-stage.ts';

/**
 * A prefix is first narrowed by at most this many whole tokens, the most frequent in the caller's
 * chats: one GiST scan of a few lexemes. GiST keeps tsvectors as hashed lexemes, which answer whole
 * lexemes but not prefixes, and every lexeme ORed in widens the scan (issue 14: 87 completions of
 * "оста" took 171 ms). Rarer completions are reached only when these leave room in the results.
 */
export const MAX_COMPLETIONS = 16;
/** What the vocabulary says about a phrase before any message is read. */
export interface Vocabulary {
  /** How many messages the caller's chats hold, at most (deleted messages keep their seq). */
  reachable: number;
  /**
   * Whether the caller's chats hold every word as written (each word's longest token): when one
   * is missing, the phrase and exact tiers cannot match and are not run.
   */
  written: boolean;
  /** Whether a word is a stop word of English or Russian (the vector's stemmed parts drop it). */
  stopWord: boolean;
  /**
   * Per prefix term, the caller's most frequent tokens that start with the word's token (its
   * longest, when the word is several: "example.com/guide" is a URL, a host and a path): a range
   * of the per-chat vocabulary's primary key in each of the caller's chats, summed.
   */
  completions: Completions;
}

/**
 * All of `Vocabulary` in one statement: each question is small (an index range or a key look-up
 * per chat of the caller), and asked one by one they cost a round trip each (4 to 6 of a search's
 * 8 to 13, up to 6 ms each on a busy machine; issue 14).
 */
export async function lookUp(trx: Transaction<DB>, ctx: StageContext, terms: Term[]): Promise<Vocabulary> {
  await bound(trx, ctx);
  const words = terms.map((t) => t.word);
  const prefixes = terms.filter((t) => t.prefix);
  const chats = sql`(select chat_id from chat_members where user_id = ${ctx.userId})`;
  const longestToken = (word: RawBuilder<unknown>) => sql`(
    select x from unnest(tsvector_to_array(to_tsvector('simple', ${word}))) as x
    order by char_length(x) desc, x limit 1
  ) collate "C"`;
  const { rows } = await sql<{
    reachable: number | string;
    missing: number | string;
    stop: boolean | null;
    completions: string[][];
  }>`
    select
      (select coalesce(sum(c.last_message_seq), 0) from chats c where c.id in ${chats}) as reachable,
      (select count(*) from unnest(${words}::text[]) as t (w)
        where not exists (
          select from search_chat_words s
          where s.chat_id in ${chats} and s.messages > 0 and s.word = ${longestToken(sql`t.w`)}
        )) as missing,
      (select bool_or(to_tsvector('english', t.w) = ''::tsvector or to_tsvector('russian', t.w) = ''::tsvector)
        from unnest(${words}::text[]) as t (w)) as stop,
      (select coalesce(json_agg(c.words order by t.i), '[]'::json)
        from unnest(${prefixes.map((t) => t.word)}::text[]) with ordinality as t (w, i)
        cross join lateral (select ${longestToken(sql`t.w`)} as token) k
        cross join lateral (
          select coalesce(array_agg(x.word order by x.n desc, x.word), '{}') as words
          from (
            select s.word, sum(s.messages) as n
            from search_chat_words s
            where s.chat_id in ${chats} and s.messages > 0
              and s.word >= k.token and s.word < k.token || chr(1114111)
            group by s.word
            order by n desc, s.word
            limit ${MAX_COMPLETIONS + 1}
          ) x
        ) c) as completions`.execute(trx);
  const row = rows[0];
  const completions: Completions = new Map();
  prefixes.forEach((term, i) => {
    const found = row?.completions[i] ?? [];
    completions.set(term, { top: found.slice(0, MAX_COMPLETIONS), more: found.length > MAX_COMPLETIONS });
  });
  return {
    reachable: Number(row?.reachable ?? 0),
    written: Number(row?.missing ?? 0) === 0,
    stopWord: row?.stop === true,
    completions,
  };
}
