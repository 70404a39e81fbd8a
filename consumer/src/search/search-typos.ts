/**
 * Typo arithmetic: the optimal-string-alignment distance (Damerau–Levenshtein where no substring is
 * edited twice), so that swapping two neighbouring letters costs one edit, and the choice of
 * corrections among vocabulary candidates. Pure: tested on its own (consumer/test/search-typos.test.ts).
 */

/** Corrections kept per misspelt word: the few that read like what the person meant. */
export const MAX_CORRECTIONS = 3;
/**
 * A correction less than this share as likely as the best one (see `chooseCorrections`) is left
 * out: among rivals at the same distance ("tivet": ticket, tired, lives, river), the unlikely ones
 * are the noise that flooded the results.
 */
export const MIN_FREQUENCY_SHARE = 0.5;

/**
 * The OSA distance between `a` and `b` (by code point), or `max + 1` as soon as it must exceed
 * `max`. Insertions, deletions, substitutions and transpositions of two adjacent letters cost 1.
 */
export function osaDistance(a: string, b: string, max: number): number {
  const s = [...a];
  const t = [...b];
  if (Math.abs(s.length - t.length) > max) return max + 1;
  const width = t.length + 1;
  // Three rows: the one before the previous (for transpositions), the previous, the current.
  let before = new Array<number>(width).fill(0);
  let previous = Array.from({ length: width }, (_, j) => j);
  let current = new Array<number>(width).fill(0);
  for (let i = 1; i <= s.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    [before, previous, current] = [previous, current, before];
  }
  return Math.min(previous[t.length]!, max + 1);
}

/** A vocabulary word near a misspelt one, and how many of the caller's messages hold it. */
export interface Candidate {
  word: string;
  distance: number;
  /** Messages in the caller's chats that hold the word. */
  frequency: number;
}

/**
 * How many letters the two words share at their beginning plus at their end (never counting a
 * letter twice). Typists and readers keep the ends of a word: "tivet" keeps "ti…et" of "ticket",
 * nothing of "lives" or "river", which are as many edits away.
 */
export function endsKept(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  const most = Math.min(s.length, t.length);
  let start = 0;
  while (start < most && s[start] === t[start]) start++;
  let end = 0;
  while (end < most - start && s[s.length - 1 - end] === t[t.length - 1 - end]) end++;
  return start + end;
}

/**
 * The corrections of one misspelt word, among candidates within its edit budget: only those the
 * caller's chats hold; of them the nearest (fewest edits); of those the most likely, at most
 * MAX_CORRECTIONS and none less than MIN_FREQUENCY_SHARE as likely as the best. Likely is how
 * often the caller's chats use the word, doubled for every letter it keeps at the ends of the typed
 * word (`endsKept`): by frequency alone a common word ("lives", "given") beats a rarer one two edits
 * away that the person meant ("ticket" for "tivet"). Ties go to the word that sorts first, so the
 * choice is stable.
 */
export function chooseCorrections(typed: string, candidates: Candidate[]): Candidate[] {
  const held = candidates.filter((c) => c.frequency > 0);
  if (held.length === 0) return [];
  const nearest = Math.min(...held.map((c) => c.distance));
  const ranked = held
    .filter((c) => c.distance === nearest)
    .map((c) => ({ candidate: c, weight: c.frequency * 2 ** endsKept(typed, c.word) }))
    .sort(
      (x, y) =>
        y.weight - x.weight ||
        (x.candidate.word < y.candidate.word ? -1 : x.candidate.word > y.candidate.word ? 1 : 0),
    );
  const floor = ranked[0]!.weight * MIN_FREQUENCY_SHARE;
  return ranked
    .filter((r) => r.weight >= floor)
    .slice(0, MAX_CORRECTIONS)
    .map((r) => r.candidate);
}
