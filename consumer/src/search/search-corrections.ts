/**
 * Corrections of misspelt words: the vocabulary words within a word's edit budget (OSA distance),
 * with how often the caller's chats use each; search-typos.ts chooses among them.
 */
import { sql, type Expression, type SqlBool, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { FuzzyWord, Term } from './search-phrase.ts';
import { matching } from './search-messages.ts';
import { narrowsByIndex, prefixQuery, type Completions, type Corrections } from './search-queries.ts';
import { bound, memberChats, type StageContext } from './search-stage.ts';
import { chooseCorrections, osaDistance, type Candidate } from './search-typos.ts';

/** Vocabulary candidates read per misspelt word before the exact distance is computed. */
const MAX_CANDIDATES = 2000;

/** Corrects the words that match nothing by themselves in the caller's chats. */
export async function correct(
  trx: Transaction<DB>,
  ctx: StageContext,
  terms: Term[],
  completions: Completions,
  corrections: Corrections,
): Promise<void> {
  for (const term of terms) {
    if (!term.fuzzy) continue;
    // One word that no tier found matches nothing as written: no need to ask again.
    if (terms.length === 1) {
      const chosen = await correctionsOf(trx, ctx, term.fuzzy);
      if (chosen.length > 0) corrections.set(term, chosen);
      continue;
    }
    await bound(trx, ctx);
    const query = prefixQuery(term, completions, true);
    const matches = await matching(trx, ctx, query, !narrowsByIndex(term, completions), [], 1)
      .select('m.id')
      .executeTakeFirst();
    if (matches) continue;
    const chosen = await correctionsOf(trx, ctx, term.fuzzy);
    if (chosen.length > 0) corrections.set(term, chosen);
  }
}

/** The words a misspelt word is searched as (see chooseCorrections), or none. */
export async function correctionsOf(
  trx: Transaction<DB>,
  ctx: StageContext,
  fuzzy: FuzzyWord,
): Promise<string[]> {
  return chooseCorrections(fuzzy.word, await candidates(trx, ctx, fuzzy)).map((c) => c.word);
}

/**
 * The vocabulary words within the word's edit budget (OSA distance), with how many of the
 * caller's messages hold each. A long ASCII word, whose similarity floor keeps every word within
 * the budget (`trigramFloor`), is looked up in the global vocabulary through its trigram index.
 * Any other is looked for among the words that start with its first letter, or with its first two
 * letters swapped (a typo of any other kind in the first letter of a short or non-ASCII word is
 * not corrected: reading every word of a length would take a scan of the vocabulary): in the
 * caller's own vocabulary when the caller's chats are small enough to read (`ctx.scan`), else in
 * the global one. Only words the caller's chats hold can be chosen, and at 1M messages the global
 * vocabulary held ~46,000 words starting with "b" or "c" (made-up tokens), whose distances took
 * 55–62 ms, where the caller's 40 chats held ~1,600 (issue 14). A filter that levenshtein can
 * answer keeps every word within the budget (see `osaFilter`); the exact distance is computed here.
 */
export async function candidates(
  trx: Transaction<DB>,
  ctx: StageContext,
  fuzzy: FuzzyWord,
): Promise<Candidate[]> {
  const { word, maxEdits, trigramFloor } = fuzzy;
  const near = (rows: Array<{ word: string; n?: number }>) =>
    rows
      .map((r) => ({
        word: r.word,
        distance: osaDistance(word, r.word, maxEdits),
        frequency: Number(r.n ?? 0),
      }))
      .filter((c) => c.distance <= maxEdits && c.word !== word);

  if (trigramFloor === undefined && ctx.scan) {
    await bound(trx, ctx);
    // One key range per chat and start, so that the key narrows both (an OR of ranges would be
    // a filter over every word of each chat).
    const { rows: own } = await sql<{ word: string; n: number }>`
      select s.word, sum(s.messages) as n
      from chat_members c
      cross join unnest(${starts(word)}::text[]) as st (start)
      join search_chat_words s on s.chat_id = c.chat_id
        and s.word >= st.start collate "C" and s.word < st.start || chr(1114111) collate "C"
      where c.user_id = ${ctx.userId} and s.messages > 0
        and ${lengthWithin(fuzzy)} and ${osaFilter(word, maxEdits)}
      group by s.word
      limit ${MAX_CANDIDATES}`.execute(trx);
    return near(own);
  }

  await bound(trx, ctx);
  let query = trx
    .selectFrom('search_words')
    .select('word')
    .where(lengthWithin(fuzzy))
    .where(osaFilter(word, maxEdits))
    .limit(MAX_CANDIDATES);
  if (trigramFloor !== undefined) {
    await sql`select set_config('pg_trgm.similarity_threshold', ${trigramFloor.toFixed(4)}, true)`.execute(
      trx,
    );
    // The predicate of the trigram index, as written there.
    query = query.where(sql<SqlBool>`char_length(word) between 5 and 32`).where(sql<SqlBool>`word % ${word}`);
  } else {
    query = query.where(startsLikely(word));
  }
  const found = near(await query.execute());
  if (found.length === 0) return [];
  await bound(trx, ctx);
  const counts = await trx
    .selectFrom('search_chat_words')
    .select(['word', sql<number>`sum(messages)`.as('n')])
    .where('chat_id', 'in', memberChats(trx, ctx.userId))
    .where(
      'word',
      'in',
      found.map((c) => c.word),
    )
    .groupBy('word')
    .execute();
  const frequency = new Map(counts.map((r) => [r.word, Number(r.n)]));
  return found.map((c) => ({ ...c, frequency: frequency.get(c.word) ?? 0 }));
}

/** A word's length (in characters) within the edit budget of the typed word's. */
function lengthWithin({ length, maxEdits }: FuzzyWord): Expression<SqlBool> {
  return sql<SqlBool>`char_length(word) between ${length - maxEdits} and ${length + maxEdits}`;
}

/** The typed word's first letter, and its first two swapped: where its candidates start. */
function starts(typed: string): string[] {
  const letters = [...typed];
  return [letters[0]!, ...(letters.length > 1 ? [letters[1]! + letters[0]!] : [])];
}

/**
 * `word` starts with the typed word's first letter, or with its first two letters swapped: one
 * range of a key sorted by code point (collate "C") each.
 */
function startsLikely(typed: string): Expression<SqlBool> {
  return sql<SqlBool>`(${sql.join(
    starts(typed).map(
      (start) => sql`(word >= ${start} collate "C" and word < ${start} || chr(1114111) collate "C")`,
    ),
    sql` or `,
  )})`;
}

/**
 * A filter levenshtein answers that keeps every word within `maxEdits` OSA edits of `word`: an OSA
 * alignment is transpositions and other edits on disjoint letters, so such a word is within
 * `maxEdits` plain edits, or within `maxEdits - 1` of the word with one neighbour pair swapped, or
 * (2 edits) the word with two pairs swapped. The exact distance is computed afterwards.
 */
function osaFilter(word: string, maxEdits: number): Expression<SqlBool> {
  const swapped = swaps(word);
  const twice = maxEdits >= 2 ? [...new Set(swapped.flatMap(swaps))] : [];
  const plain = sql<SqlBool>`levenshtein_less_equal(word, ${word}, ${maxEdits}) <= ${maxEdits}`;
  if (swapped.length === 0) return plain;
  const once =
    maxEdits >= 2
      ? sql<SqlBool>`exists (select from unnest(${swapped}::text[]) as s (w) where levenshtein_less_equal(word, s.w, ${maxEdits - 1}) <= ${maxEdits - 1})`
      : sql<SqlBool>`word = any(${swapped}::text[])`;
  return twice.length > 0
    ? sql<SqlBool>`(${plain} or ${once} or word = any(${twice}::text[]))`
    : sql<SqlBool>`(${plain} or ${once})`;
}

/** The word with one pair of neighbouring letters swapped, every way. */
function swaps(word: string): string[] {
  const letters = [...word];
  const out: string[] = [];
  for (let i = 0; i + 1 < letters.length; i++) {
    if (letters[i] === letters[i + 1]) continue;
    const copy = [...letters];
    [copy[i], copy[i + 1]] = [copy[i + 1]!, copy[i]!];
    out.push(copy.join(''));
  }
  return out;
}
