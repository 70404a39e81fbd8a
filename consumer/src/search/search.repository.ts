import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import { HEADLINE_OPTIONS, markedRanges, mergeRanges, START_MARK, STOP_MARK } from './search-highlights.ts';
import { parsePhrase, quoteOperand, type FuzzyWord, type Term } from './search-phrase.ts';

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
}

export interface SearchInput {
  userId: string;
  phrase: string;
  /** The most results to return, newest first. */
  limit: number;
  /** Epoch milliseconds. When it passes, the search answers what it has found, marked partial. */
  deadline: number;
}

export interface SearchOutcome {
  results: SearchHit[];
  /** True when the deadline cut the search short: `results` may miss matches. */
  partial: boolean;
}

/**
 * Per prefix term, the vocabulary tokens that start with its (longest) token; `undefined` when
 * there are more than MAX_COMPLETIONS, and the query keeps the bare prefix (right, but not
 * narrowed by the index).
 */
type Completions = Map<Term, string[] | undefined>;
type Corrections = Map<Term, string[]>;

/**
 * A prefix is narrowed by at most this many whole tokens. GiST keeps tsvectors as hashed lexemes,
 * which answer whole lexemes but not prefixes: a bare prefix makes it return every row to recheck.
 */
const MAX_COMPLETIONS = 256;
/** Corrections tried per misspelt word, nearest first. */
const MAX_CORRECTIONS = 64;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A statement cancelled by `statement_timeout`. */
const QUERY_CANCELED = '57014';

class DeadlinePassed extends Error {}

interface StageContext {
  userId: string;
  limit: number;
  deadline: number;
}

/**
 * Full-text search over the messages of one user's chats (issue 3, "The search itself"; the
 * vector, its configurations and the vocabulary are in migrations/0002_search.sql).
 *
 * Each word of the phrase matches an English stem, a Russian stem, or a token that starts with
 * it; every word must match. When that finds nothing, the words that match nothing on their own
 * are corrected against the vocabulary (up to 2 edits) and the search runs again. Each stage runs
 * in a transaction of its own with `statement_timeout` set to the time left before the deadline
 * before each statement; PGlite does not enforce it, so the deadline is also checked between
 * statements.
 */
export class SearchRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async search(input: SearchInput): Promise<SearchOutcome> {
    const terms = parsePhrase(input.phrase);
    const limit = Math.floor(input.limit);
    if (terms.length === 0 || !(limit >= 1) || !UUID.test(input.userId)) {
      return { results: [], partial: false };
    }
    const ctx: StageContext = { userId: input.userId, limit, deadline: input.deadline };

    const completions: Completions = new Map();
    let results: SearchHit[];
    try {
      results = await this.stage(ctx, async (trx) => {
        for (const term of terms) {
          if (term.prefix) completions.set(term, await this.complete(trx, ctx, term.word));
        }
        return this.findMessages(trx, ctx, terms, completions, new Map());
      });
    } catch (err) {
      if (isTimeout(err)) return { results: [], partial: true };
      throw err;
    }
    // A non-empty answer means every word matched as written: there is no typo to correct.
    if (results.length > 0 || !terms.some((t) => t.fuzzy)) return { results, partial: false };

    try {
      results = await this.stage(ctx, (trx) => this.findWithCorrections(trx, ctx, terms, completions));
      return { results, partial: false };
    } catch (err) {
      if (isTimeout(err)) return { results, partial: true };
      throw err;
    }
  }

  /** Runs `body` in a transaction whose statements may not outlast the deadline. */
  private stage<T>(ctx: StageContext, body: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    if (ctx.deadline - Date.now() <= 0) return Promise.reject(new DeadlinePassed());
    return this.db.transaction().execute(body);
  }

  /**
   * Every vocabulary token that starts with the word's token (its longest, when the word is several:
   * "example.com/guide" is a URL, a host and a path), or `undefined` when there are too many.
   */
  private async complete(
    trx: Transaction<DB>,
    ctx: StageContext,
    word: string,
  ): Promise<string[] | undefined> {
    await bound(trx, ctx);
    const token = sql<string>`(
      select t from unnest(tsvector_to_array(to_tsvector('simple', ${word}))) as t
      order by char_length(t) desc, t limit 1
    ) collate "C"`;
    // The vocabulary sorts by code point (collation "C"), so the tokens with a prefix are one range.
    const rows = await trx
      .selectFrom('search_words')
      .select('word')
      .where('word', '>=', token)
      .where('word', '<', sql<string>`${token} || chr(1114111)`)
      .orderBy('word')
      .limit(MAX_COMPLETIONS + 1)
      .execute();
    return rows.length > MAX_COMPLETIONS ? undefined : rows.map((r) => r.word);
  }

  /** The typo stage: corrects the words that match nothing by themselves, then searches again. */
  private async findWithCorrections(
    trx: Transaction<DB>,
    ctx: StageContext,
    terms: Term[],
    completions: Completions,
  ): Promise<SearchHit[]> {
    const corrections: Corrections = new Map();
    for (const term of terms) {
      if (!term.fuzzy) continue;
      await bound(trx, ctx);
      const found = await trx
        .selectFrom('messages as m')
        .select('m.id')
        .where('m.chat_id', 'in', memberChats(trx, ctx.userId))
        .where(vectorMatches(termQuery(term, completions), !narrowsByIndex(term, completions)))
        .limit(1)
        .executeTakeFirst();
      if (found) continue;
      await bound(trx, ctx);
      const words = await this.corrections(trx, term.fuzzy);
      if (words.length > 0) corrections.set(term, words);
    }
    if (corrections.size === 0) return [];
    return this.findMessages(trx, ctx, terms, completions, corrections);
  }

  /**
   * Vocabulary tokens within `maxEdits` of the word, nearest first. Long ASCII words go
   * through the trigram index with a similarity floor low enough to keep every such word (see
   * `trigramFloor`); trigrams alone would miss transpositions, so levenshtein decides.
   */
  private async corrections(trx: Transaction<DB>, fuzzy: FuzzyWord): Promise<string[]> {
    const { word, length, maxEdits, trigramFloor } = fuzzy;
    const distance = sql<number>`levenshtein_less_equal(word, ${word}, ${maxEdits})`;
    let query = trx
      .selectFrom('search_words')
      .select('word')
      // The predicate of the trigram index, as written there.
      .where(sql<SqlBool>`char_length(word) between 5 and 32`)
      .where(sql<number>`char_length(word)`, '>=', length - maxEdits)
      .where(sql<number>`char_length(word)`, '<=', length + maxEdits)
      .where(distance, '<=', maxEdits)
      .orderBy(distance)
      .orderBy('word')
      .limit(MAX_CORRECTIONS);
    if (trigramFloor !== undefined) {
      await sql`select set_config('pg_trgm.similarity_threshold', ${trigramFloor.toFixed(4)}, true)`.execute(
        trx,
      );
      query = query.where(sql<SqlBool>`word % ${word}`);
    }
    return (await query.execute()).map((r) => r.word);
  }

  /** The newest `limit` messages of the user's chats that match every term (or one of its corrections). */
  private async findMessages(
    trx: Transaction<DB>,
    ctx: StageContext,
    terms: Term[],
    completions: Completions,
    corrections: Corrections,
  ): Promise<SearchHit[]> {
    const query = sql.join(
      terms.map((term) => {
        const words = corrections.get(term);
        return words
          ? sql`(${termQuery(term, completions)} || ${lexemeQuery(words)})`
          : termQuery(term, completions);
      }),
      sql` && `,
    );
    // One term the index can narrow is enough: it prunes the AND.
    const indexed = terms.some((t) => narrowsByIndex(t, completions));

    // For ts_headline, per configuration, the same words: stems whole, tokens also as prefixes.
    const stems = terms.map((t) => t.operand).join(' | ');
    const tokens = [
      ...terms.map((t) => (t.prefix ? `${t.operand}:*` : t.operand)),
      ...[...corrections.values()].flat().map(quoteOperand),
    ].join(' | ');
    const headline = (config: 'english' | 'russian' | 'simple', operands: string) =>
      sql<string>`ts_headline(${sql.lit(config)}::regconfig, translate(hit.text, ${START_MARK + STOP_MARK}, '  '),
        to_tsquery(${sql.lit(config)}::regconfig, ${operands}), ${HEADLINE_OPTIONS})`;

    await bound(trx, ctx);
    const rows = await trx
      .with('hit', (db) =>
        db
          .selectFrom('messages as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select(['m.id', 'm.chat_id', 'm.user_id', 'u.user_name', 'm.text', 'm.created_at', 'm.seq'])
          .where('m.chat_id', 'in', memberChats(trx, ctx.userId))
          .where(vectorMatches(query, !indexed))
          .orderBy('m.created_at', 'desc')
          .orderBy('m.seq', 'desc')
          .limit(ctx.limit),
      )
      .selectFrom('hit')
      .select([
        'hit.id',
        'hit.chat_id',
        'hit.user_id',
        'hit.user_name',
        'hit.text',
        'hit.created_at',
        headline('english', stems).as('marked_english'),
        headline('russian', stems).as('marked_russian'),
        headline('simple', tokens).as('marked_simple'),
      ])
      .orderBy('hit.created_at', 'desc')
      .orderBy('hit.seq', 'desc')
      .execute();

    return rows.map((r) => ({
      message_id: r.id,
      chat_id: r.chat_id,
      user_id: r.user_id,
      user_name: r.user_name,
      text: r.text,
      created_at: r.created_at,
      highlights: mergeRanges(
        r.text,
        [r.marked_english, r.marked_russian, r.marked_simple].flatMap((m) => markedRanges(m, r.text.length)),
      ),
    }));
  }
}

/** Limits the next statement to the time left; throws when none is left. */
async function bound(trx: Transaction<DB>, ctx: StageContext): Promise<void> {
  const left = Math.ceil(ctx.deadline - Date.now());
  if (left <= 0) throw new DeadlinePassed();
  await sql`select set_config('statement_timeout', ${String(left)}, true)`.execute(trx);
}

function isTimeout(err: unknown): boolean {
  return (
    err instanceof DeadlinePassed ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === QUERY_CANCELED)
  );
}

function memberChats(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('chat_members')
    .select('chat_members.chat_id')
    .where('chat_members.user_id', '=', userId);
}

/**
 * `search_vector @@ query`. When the GiST index cannot narrow the query (every word a prefix with
 * too many completions), the function form keeps the planner off it: a scan of the index that
 * returns every row is slower than reading the user's own chats.
 */
function vectorMatches(query: RawBuilder<unknown>, unindexed: boolean): Expression<SqlBool> {
  return unindexed
    ? sql<SqlBool>`ts_match_vq(m.search_vector, ${query})`
    : sql<SqlBool>`m.search_vector @@ (${query})`;
}

function narrowsByIndex(term: Term, completions: Completions): boolean {
  return !term.prefix || completions.get(term) !== undefined;
}

/**
 * One word: its English stems (weight A), its Russian stems (B), or its tokens as they are, and
 * from 3 characters also as prefixes (C). A word of several tokens (an e-mail address, a URL, a
 * hyphenated word) is a phrase of them. A configuration that finds no lexeme in the word (a stop
 * word, punctuation) yields an empty query, which `||` drops.
 *
 * The prefix query is ANDed with the completions of the word's longest token: the same matches
 * (a message that has tokens starting with each of the word's has those), but whole lexemes,
 * which the index can look up.
 */
function termQuery(term: Term, completions: Completions): RawBuilder<unknown> {
  const { operand } = term;
  const stems = sql`to_tsquery('english', ${`${operand}:A`}) || to_tsquery('russian', ${`${operand}:B`})`;
  if (!term.prefix) return sql`(${stems} || to_tsquery('simple', ${`${operand}:C`}))`;
  const prefixes = sql`to_tsquery('simple', ${`${operand}:*C`})`;
  const words = completions.get(term);
  if (words === undefined) return sql`(${stems} || ${prefixes})`;
  if (words.length === 0) return sql`(${stems})`;
  return sql`(${stems} || (${lexemeQuery(words)} && ${prefixes}))`;
}

/**
 * Any of these tokens of the simple part, taken as they are: the tsquery input syntax, not
 * to_tsquery, so that a token such as a URL is not split again.
 */
function lexemeQuery(words: string[]): RawBuilder<unknown> {
  return sql`${words.map((w) => `${quoteOperand(w)}:C`).join(' | ')}::tsquery`;
}
