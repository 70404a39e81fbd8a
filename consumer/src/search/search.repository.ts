import type { Kysely, Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import { correct, correctionsOf } from './search-corrections.ts';
import { findMessages, SCAN_MAX_MESSAGES } from './search-messages.ts';
import { parsePhrase, phraseOperands } from './search-phrase.ts';
import { correctedTier, tiers, type Completions, type Corrections } from './search-queries.ts';
import { findTiered } from './search-scan.ts';
import { DeadlinePassed, isTimeout, type StageContext } from './search-stage.ts';
import type { Correction, FoundRow, SearchHit, SearchInput, SearchOutcome } from './search-types.ts';
import { lookUp } from './search-vocabulary.ts';

export type { Correction, MatchTier, SearchHit, SearchInput, SearchOutcome } from './search-types.ts';
export { SCAN_MAX_MESSAGES } from './search-messages.ts';
export { MAX_COMPLETIONS } from './search-vocabulary.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Full-text search over the messages of one user's chats (issues 3 and 14; the vector, its
 * configurations and the vocabularies are in migrations/0002_search.sql and 0011).
 *
 * The results come from tiers, best first: the phrase as written, every word exactly, word forms,
 * prefixes. Each tier fills what the tiers above it left of the limit, never repeating a message,
 * except after a phrase with stop words that was found as written, which keeps to those matches;
 * each result says which tier found it; the kept results are then returned newest first. Only
 * when no tier finds anything are the words that match nothing on their own corrected (by OSA
 * distance, the nearest and most frequent in the caller's chats, see search-typos.ts) and the
 * corrected phrase searched. Each stage runs in a transaction of its own with `statement_timeout`
 * set to the time left before the deadline before each statement; PGlite does not enforce it, so the
 * deadline is also checked between statements.
 */
export class SearchRepository {
  constructor(
    private readonly db: Kysely<DB>,
    /** SCAN_MAX_MESSAGES; tests lower it to see the GiST path on a small database. */
    private readonly scanMaxMessages = SCAN_MAX_MESSAGES,
  ) {}

  async search(input: SearchInput): Promise<SearchOutcome> {
    const terms = parsePhrase(input.phrase);
    const limit = Math.floor(input.limit);
    if (terms.length === 0 || !(limit >= 1) || !UUID.test(input.userId)) {
      return { results: [], partial: false, corrections: [] };
    }
    const ctx: StageContext = { userId: input.userId, limit, deadline: input.deadline, scan: false };
    const operands = phraseOperands(input.phrase);

    let completions: Completions = new Map();
    const found: FoundRow[] = [];
    const corrections: Corrections = new Map();
    /** Whether the first stage already searched the corrections (one word, a small reach). */
    let correctedAlready = false;
    try {
      await this.stage(ctx, async (trx) => {
        const vocabulary = await lookUp(trx, ctx, terms);
        ctx.scan = vocabulary.reachable <= this.scanMaxMessages;
        completions = vocabulary.completions;
        const phraseTiers = tiers(terms, operands, completions, vocabulary.written);
        // A phrase with stop words, found as written, is what was meant: "one of the" is not a
        // bag of "one", and the words apart would only dilute it.
        const phraseOnly = phraseTiers[0]?.match === 'phrase' && vocabulary.stopWord;
        if (ctx.scan) {
          // One word the caller's chats do not hold as written (nor complete, as a prefix) is
          // likely a typo: its corrections join the one statement as a last tier, kept only when
          // no other tier matched, which spares a second read of the caller's messages. Only when
          // its candidates come from the caller's own vocabulary (one short statement): a long
          // word's trigram look-up in the global one costs three round trips, and is more often
          // another form of a word ("deploying") that the stem tier finds.
          const [only] = terms;
          correctedAlready =
            !vocabulary.written &&
            terms.length === 1 &&
            only?.fuzzy !== undefined &&
            only.fuzzy.trigramFloor === undefined &&
            (completions.get(only)?.top.length ?? 0) === 0;
          const guesses = correctedAlready && only?.fuzzy ? await correctionsOf(trx, ctx, only.fuzzy) : [];
          if (only && guesses.length > 0) {
            phraseTiers.push(correctedTier(terms, completions, new Map([[only, guesses]])));
          }
          const rows = await findTiered(trx, ctx, phraseTiers, terms, guesses);
          const asWritten = rows.filter((r) => r.match !== 'corrected');
          if (phraseOnly && rows[0]?.match === 'phrase') {
            found.push(...rows.filter((r) => r.match === 'phrase'));
          } else if (asWritten.length > 0 || !only || guesses.length === 0) {
            found.push(...asWritten);
          } else {
            found.push(...rows);
            corrections.set(only, guesses);
          }
          return;
        }
        for (const tier of phraseTiers) {
          if (found.length >= limit) break;
          found.push(...(await findMessages(trx, ctx, tier, terms, new Map(), found)));
          if (tier.match === 'phrase' && phraseOnly && found.length > 0) break;
        }
      });
    } catch (err) {
      if (isTimeout(err)) return { results: newestFirst(found), partial: true, corrections: [] };
      throw err;
    }
    // Something matched as written: there is no typo to correct.
    if (found.length > 0 || correctedAlready || !terms.some((t) => t.fuzzy)) {
      return { results: newestFirst(found), partial: false, corrections: listCorrections(corrections) };
    }

    try {
      await this.stage(ctx, async (trx) => {
        await correct(trx, ctx, terms, completions, corrections);
        if (corrections.size === 0) return;
        const tier = correctedTier(terms, completions, corrections);
        found.push(...(await findMessages(trx, ctx, tier, terms, corrections, found)));
      });
    } catch (err) {
      if (!isTimeout(err)) throw err;
      return { results: newestFirst(found), partial: true, corrections: listCorrections(corrections) };
    }
    return { results: newestFirst(found), partial: false, corrections: listCorrections(corrections) };
  }

  /** Runs `body` in a transaction whose statements may not outlast the deadline. */
  private stage<T>(ctx: StageContext, body: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    if (ctx.deadline - Date.now() <= 0) return Promise.reject(new DeadlinePassed());
    ctx.timeout = undefined;
    return this.db.transaction().execute(body);
  }
}

function newestFirst(found: FoundRow[]): SearchHit[] {
  return [...found]
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || b.seq - a.seq)
    .map(({ seq: _seq, ...hit }) => hit);
}

function listCorrections(corrections: Corrections): Correction[] {
  return [...corrections].map(([term, words]) => ({ word: term.word, corrections: words }));
}
