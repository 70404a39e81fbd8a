/** The shapes a search answers, shared by the repository and the modules it is made of. */

/**
 * How a result matched, best first: the phrase as written (words adjacent and in order), every word
 * exactly, word forms (stems), prefixes, corrections of misspelt words.
 */
export type MatchTier = 'phrase' | 'exact' | 'stem' | 'prefix' | 'corrected';

/** One message that matched, with where in its text the match is. */
export interface SearchHit {
  message_id: string;
  chat_id: string;
  user_id: string;
  /** null when the author has deleted their account. */
  user_name: string | null;
  text: string;
  created_at: Date;
  /**
   * The matching words: offsets into `text` in UTF-16 code units (JavaScript string indices, so
   * `text.slice(start, end)` is the word), end exclusive, sorted, never overlapping.
   */
  highlights: Array<{ start: number; end: number }>;
  /** The best tier the message matched. */
  match: MatchTier;
}

export interface SearchInput {
  userId: string;
  phrase: string;
  /** The most results to return, newest first. */
  limit: number;
  /** Epoch milliseconds. When it passes, the search answers what it has found, marked partial. */
  deadline: number;
}

/** A misspelt word of the phrase and the words searched instead ("showing results for …"). */
export interface Correction {
  word: string;
  corrections: string[];
}

export interface SearchOutcome {
  results: SearchHit[];
  /** True when the deadline cut the search short: `results` may miss matches. */
  partial: boolean;
  /** The words corrected, when the results are corrections; empty otherwise. */
  corrections: Correction[];
}

/** A hit with its message's seq, which breaks ties of created_at in newest-first order. */
export interface FoundRow extends SearchHit {
  seq: number;
}
