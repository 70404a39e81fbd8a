/**
 * The tsqueries of a search: per word, as written, its forms, its prefixes (narrowed by the
 * caller's most frequent completions) and its corrections; and the tiers a phrase is searched in,
 * best first. Builders only: nothing here runs a statement.
 */
import { sql, type RawBuilder } from 'kysely';
import { quoteOperand, type Term } from './search-phrase.ts';
import type { MatchTier } from './search-types.ts';

/**
 * Per prefix term, the caller's most frequent completions of its (longest) token, and whether the
 * caller's chats hold more than those.
 */
export interface Completion {
  top: string[];
  more: boolean;
}
export type Completions = Map<Term, Completion>;
/** Per misspelt term, the words searched instead. */
export type Corrections = Map<Term, string[]>;

/** What one tier asks: its query, whether the GiST index can narrow it, and its label. */
export interface TierQuery {
  match: MatchTier;
  query: RawBuilder<unknown>;
  indexed: boolean;
}

/**
 * The tiers of a phrase, best first. The phrase tier only for two words or more (one word as
 * written is the exact tier); the prefix tiers only for a phrase with a word of 3+ letters: first
 * with the caller's most frequent completions (indexed), then, when the caller's chats hold more
 * completions than those, with the bare prefixes (right, but not narrowed by the index: it reads
 * the caller's messages newest first until it has filled the room left).
 */
export function tiers(
  terms: Term[],
  operands: string[],
  completions: Completions,
  written: boolean,
): TierQuery[] {
  const all = (each: (t: Term) => RawBuilder<unknown>) => sql.join(terms.map(each), sql` && `);
  const out: TierQuery[] = [];
  if (written && operands.length >= 2) {
    const words = operands.map((o) => sql`to_tsquery('simple', ${`${o}:C`})`);
    const phrase = words.slice(1).reduce((q, w) => sql`tsquery_phrase(${q}, ${w})`, words[0]!);
    out.push({ match: 'phrase', query: phrase, indexed: true });
  }
  if (written) out.push({ match: 'exact', query: all(exactQuery), indexed: true });
  out.push({ match: 'stem', query: all(stemQuery), indexed: true });
  // Without a completion the prefix tier is the stem tier again.
  if (terms.some((t) => t.prefix && (completions.get(t)?.top.length ?? 0) > 0)) {
    out.push({ match: 'prefix', query: all((t) => prefixQuery(t, completions, false)), indexed: true });
    if (terms.some((t) => completions.get(t)?.more)) {
      const indexed = terms.some((t) => narrowsByIndex(t, completions));
      out.push({ match: 'prefix', query: all((t) => prefixQuery(t, completions, true)), indexed });
    }
  }
  return out;
}

/** Whether the word's query in the last prefix tier is whole lexemes the index can look up. */
export function narrowsByIndex(term: Term, completions: Completions): boolean {
  return !term.prefix || completions.get(term)?.more === false;
}

/**
 * The word as written: its tokens (C) or a part of a glued token (D), lowercased. A word of several
 * tokens (an e-mail address, a URL, a hyphenated word) is a phrase of them.
 */
export function exactQuery(term: Term): RawBuilder<unknown> {
  return sql`to_tsquery('simple', ${`${term.operand}:CD`})`;
}

/**
 * The word as written or any of its forms: English stems (A), Russian stems (B). A configuration
 * that finds no lexeme in the word (a stop word, punctuation) yields an empty query, which `||` drops.
 */
export function stemQuery(term: Term): RawBuilder<unknown> {
  const { operand } = term;
  return sql`(to_tsquery('english', ${`${operand}:A`}) || to_tsquery('russian', ${`${operand}:B`}) || ${exactQuery(term)})`;
}

/**
 * Its forms, or tokens that start with it (from 3 characters). With `all` false, the tokens are
 * the caller's most frequent completions: whole lexemes the index can look up, ANDed with the
 * prefix itself (the same matches: a message that has tokens starting with each of the word's has
 * those). With `all`, every completion: the bare prefix when the caller has more than those.
 */
export function prefixQuery(term: Term, completions: Completions, all: boolean): RawBuilder<unknown> {
  const stems = stemQuery(term);
  if (!term.prefix) return stems;
  const prefixes = sql`to_tsquery('simple', ${`${term.operand}:*CD`})`;
  const completion = completions.get(term);
  if (!completion || (all && completion.more)) return sql`(${stems} || ${prefixes})`;
  if (completion.top.length === 0) return stems;
  return sql`(${stems} || (${lexemeQuery(completion.top)} && ${prefixes}))`;
}

/** Corrections, each searched as a word is: its tokens and its forms. */
export function wordsQuery(words: string[]): RawBuilder<unknown> {
  return sql.join(
    words.map((w) => {
      const operand = quoteOperand(w);
      return sql`(to_tsquery('english', ${`${operand}:A`}) || to_tsquery('russian', ${`${operand}:B`}) || ${lexemeQuery([w])})`;
    }),
    sql` || `,
  );
}

/**
 * Any of these tokens of the simple parts, taken as they are: the tsquery input syntax, not
 * to_tsquery, so that a token such as a URL is not split again.
 */
export function lexemeQuery(words: string[]): RawBuilder<unknown> {
  return sql`${words.map((w) => `${quoteOperand(w)}:CD`).join(' | ')}::tsquery`;
}

/** The phrase with its misspelt words also read as their corrections: each word as written or corrected. */
export function correctedTier(terms: Term[], completions: Completions, corrections: Corrections): TierQuery {
  const query = sql.join(
    terms.map((term) => {
      const words = corrections.get(term);
      const asWritten = prefixQuery(term, completions, true);
      return words ? sql`(${asWritten} || ${wordsQuery(words)})` : asWritten;
    }),
    sql` && `,
  );
  return { match: 'corrected', query, indexed: true };
}
