/**
 * How a search phrase becomes the terms the query uses: words split at white space, each quoted as
 * one tsquery operand, marked for prefix matching and, when it may be a typo, for correction. Pure:
 * no database, so it is tested on its own (consumer/test/search-phrase.test.ts).
 */

/** A word of the phrase, as the query uses it. */
export interface Term {
  /** As typed. */
  word: string;
  /** The word quoted as one tsquery operand, so that no character of it is an operator. */
  operand: string;
  /** Whether its tokens also match as prefixes: it has 3 or more letters and digits. */
  prefix: boolean;
  /** Set when the word may be a typo of a vocabulary word: letters only, 4 to 32 of them. */
  fuzzy?: FuzzyWord;
}

export interface FuzzyWord {
  /** Lowercase, as the vocabulary keeps words. */
  word: string;
  /** Its length in characters (code points), as `char_length` counts. */
  length: number;
  /** Edits allowed: 2 for a word of 5 or more letters, 1 for 4 letters (the intended word has 5). */
  maxEdits: 1 | 2;
  /** The trigram-similarity floor that keeps every word within `maxEdits`, when it is worth using. */
  trigramFloor?: number;
}

/** Words of a phrase beyond this are ignored: the API caps phrases at a few hundred characters anyway. */
export const MAX_TERMS = 32;
/** Shorter words match whole tokens only: as prefixes they would match most of the vocabulary. */
const MIN_PREFIX_LENGTH = 3;
/** Words longer than this are not corrected. */
const MAX_FUZZY_LENGTH = 32;
/** Below this floor a trigram lookup would visit most of the vocabulary: scan it by length instead. */
const MIN_TRIGRAM_FLOOR = 0.15;

/**
 * Splits a phrase into words at white space. Each word becomes one quoted tsquery operand, so that
 * `&`, `|`, `!`, `(`, `:`, `*` and quotes in it are text, never syntax; the configuration's
 * parser then finds its tokens (an e-mail address, a URL, a hyphenated word and its parts) as it
 * does in the messages. Words without a letter or digit can match nothing and are dropped.
 */
export function parsePhrase(phrase: string): Term[] {
  const seen = new Set<string>();
  const terms: Term[] = [];
  // NUL cannot travel as a text parameter; it separates words like white space.
  for (const raw of phrase.replaceAll('\u0000', ' ').split(/\s+/u)) {
    if (!/[\p{L}\p{N}]/u.test(raw)) continue;
    const key = raw.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    // Punctuation around a word ("hello," or "(world)") is no part of its token.
    const core = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    terms.push({
      word: raw,
      operand: quoteOperand(raw),
      prefix: (core.match(/[\p{L}\p{N}]/gu) ?? []).length >= MIN_PREFIX_LENGTH,
      fuzzy: /^\p{L}+$/u.test(core) ? fuzzyWord(core.toLowerCase()) : undefined,
    });
    if (terms.length === MAX_TERMS) break;
  }
  return terms;
}

/** The word as one quoted tsquery operand: backslashes and quotes escaped, nothing else special. */
export function quoteOperand(word: string): string {
  return `'${word.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** How a lowercase word of letters may be corrected, or undefined when it is too short or too long. */
export function fuzzyWord(word: string): FuzzyWord | undefined {
  const length = [...word].length;
  if (length < 4 || length > MAX_FUZZY_LENGTH) return undefined;
  const maxEdits = length >= 5 ? 2 : 1;
  const floor = /^[a-z]+$/.test(word) ? trigramFloor(word, maxEdits) : undefined;
  return { word, length, maxEdits, trigramFloor: floor };
}

/**
 * The least pg_trgm similarity between `word` and any word at most `maxEdits` OSA edits from it, or
 * undefined when that floor is too low to be selective. pg_trgm pads a word as "  word " and takes
 * its distinct trigrams; an insertion, deletion or substitution changes at most 3 of them and a
 * transposition of two neighbours at most 4, so a word B within k edits shares at least |A| - 4k of
 * A's and has at most n + k + 1, and similarity = shared / (|A| + |B| - shared)
 * >= (|A| - 4k) / (n + 5k + 1). (ASCII only: whether pg_trgm counts other letters as word
 * characters depends on the database's locale.)
 */
export function trigramFloor(word: string, maxEdits: number): number | undefined {
  const padded = `  ${word} `;
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= padded.length; i++) trigrams.add(padded.slice(i, i + 3));
  const floor = (trigrams.size - 4 * maxEdits) / (word.length + 5 * maxEdits + 1);
  // pg_trgm computes in float4: stay a little under the exact bound.
  return floor >= MIN_TRIGRAM_FLOOR ? Math.floor(floor * 1000) / 1000 - 0.001 : undefined;
}

/**
 * The words of the phrase in order, repeats kept, each as one quoted operand: the phrase tier asks
 * for them adjacent and in this order ("to be or not to be" is six words, not four).
 */
export function phraseOperands(phrase: string): string[] {
  return phrase
    .replaceAll('\u0000', ' ')
    .split(/\s+/u)
    .filter((raw) => /[\p{L}\p{N}]/u.test(raw))
    .slice(0, MAX_TERMS)
    .map(quoteOperand);
}
