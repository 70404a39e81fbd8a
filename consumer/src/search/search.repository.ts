import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import { HEADLINE_OPTIONS, markedRanges, mergeRanges, START_MARK, STOP_MARK } from './search-highlights.ts';
import { parsePhrase, phraseOperands, quoteOperand, type FuzzyWord, type Term } from './search-phrase.ts';
import { chooseCorrections, osaDistance, type Candidate } from './search-typos.ts';

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

/**
 * Per prefix term, the caller's most frequent completions of its (longest) token, and whether the
 * caller's chats hold more than those.
 */
interface Completion {
  top: string[];
  more: boolean;
}
type Completions = Map<Term, Completion>;
type Corrections = Map<Term, string[]>;

/**
 * A prefix is first narrowed by at most this many whole tokens, the most frequent in the caller's
 * chats: one GiST scan of a few lexemes. GiST keeps tsvectors as hashed lexemes, which answer whole
 * lexemes but not prefixes, and every lexeme ORed in widens the scan (issue 14: 87 completions of
 * "оста" took 171 ms). Rarer completions are reached only when these leave room in the results.
 */
export const MAX_COMPLETIONS = 16;
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
/** Vocabulary candidates read per misspelt word before the exact distance is computed. */
const MAX_CANDIDATES = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A statement cancelled by `statement_timeout`. */
const QUERY_CANCELED = '57014';

class DeadlinePassed extends Error {}

interface StageContext {
  userId: string;
  limit: number;
  deadline: number;
  /** Read the caller's messages rather than the GiST index (see SCAN_MAX_MESSAGES). */
  scan: boolean;
  /** The `statement_timeout` last set in this stage's transaction, and when (epoch ms). */
  timeout?: { ms: number; at: number };
}

/** What one tier asks: its query, whether the GiST index can narrow it, and its label. */
interface TierQuery {
  match: MatchTier;
  query: RawBuilder<unknown>;
  indexed: boolean;
}

interface FoundRow extends SearchHit {
  seq: number;
}

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

    const completions: Completions = new Map();
    const found: FoundRow[] = [];
    try {
      await this.stage(ctx, async (trx) => {
        ctx.scan = (await this.reachable(trx, ctx)) <= this.scanMaxMessages;
        const written = await this.allWritten(trx, ctx, terms);
        for (const term of terms) {
          if (term.prefix) completions.set(term, await this.complete(trx, ctx, term.word));
        }
        const phraseTiers = tiers(terms, operands, completions, written);
        const phraseOnly = phraseTiers[0]?.match === 'phrase' && (await this.hasStopWord(trx, ctx, terms));
        for (const tier of phraseTiers) {
          if (found.length >= limit) break;
          found.push(...(await this.findMessages(trx, ctx, tier, terms, new Map(), found)));
          // A phrase with stop words, found as written, is what was meant: "one of the" is not a
          // bag of "one", and the words apart would only dilute it.
          if (tier.match === 'phrase' && phraseOnly && found.length > 0) break;
        }
      });
    } catch (err) {
      if (isTimeout(err)) return { results: newestFirst(found), partial: true, corrections: [] };
      throw err;
    }
    // Something matched as written: there is no typo to correct.
    if (found.length > 0 || !terms.some((t) => t.fuzzy)) {
      return { results: newestFirst(found), partial: false, corrections: [] };
    }

    const corrections: Corrections = new Map();
    try {
      await this.stage(ctx, async (trx) => {
        await this.correct(trx, ctx, terms, completions, corrections);
        if (corrections.size === 0) return;
        const query = sql.join(
          terms.map((term) => {
            const words = corrections.get(term);
            const asWritten = prefixQuery(term, completions, true);
            return words ? sql`(${asWritten} || ${wordsQuery(words)})` : asWritten;
          }),
          sql` && `,
        );
        const tier: TierQuery = { match: 'corrected', query, indexed: true };
        found.push(...(await this.findMessages(trx, ctx, tier, terms, corrections, found)));
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

  /** How many messages the caller's chats hold, at most (deleted messages keep their seq). */
  private async reachable(trx: Transaction<DB>, ctx: StageContext): Promise<number> {
    await bound(trx, ctx);
    const row = await trx
      .selectFrom('chats')
      .select(sql<number>`coalesce(sum(chats.last_message_seq), 0)`.as('n'))
      .where('chats.id', 'in', memberChats(trx, ctx.userId))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Whether the caller's chats hold every word as written (each word's longest token, by the
   * per-chat vocabulary): when one is missing, the phrase and exact tiers cannot match and are
   * not run, which spares a typo those queries.
   */
  private async allWritten(trx: Transaction<DB>, ctx: StageContext, terms: Term[]): Promise<boolean> {
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
  private async hasStopWord(trx: Transaction<DB>, ctx: StageContext, terms: Term[]): Promise<boolean> {
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
  private async complete(trx: Transaction<DB>, ctx: StageContext, word: string): Promise<Completion> {
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

  /** Corrects the words that match nothing by themselves in the caller's chats. */
  private async correct(
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
        const chosen = chooseCorrections(term.fuzzy.word, await this.candidates(trx, ctx, term.fuzzy));
        if (chosen.length > 0)
          corrections.set(
            term,
            chosen.map((c) => c.word),
          );
        continue;
      }
      await bound(trx, ctx);
      const query = prefixQuery(term, completions, true);
      const matches = await matching(trx, ctx, query, !narrowsByIndex(term, completions), [], 1)
        .select('m.id')
        .executeTakeFirst();
      if (matches) continue;
      const chosen = chooseCorrections(term.fuzzy.word, await this.candidates(trx, ctx, term.fuzzy));
      if (chosen.length > 0)
        corrections.set(
          term,
          chosen.map((c) => c.word),
        );
    }
  }

  /**
   * The vocabulary words within the word's edit budget (OSA distance), with how many of the
   * caller's messages hold each. Found in the global vocabulary: through its trigram index when
   * the word is long enough for a similarity floor that keeps every word within the budget
   * (`trigramFloor`), else among the words that start with its first letter, or with its first two
   * letters swapped (a typo of any other kind in the first letter of a short or non-ASCII word is
   * not corrected: reading every word of a length would take a scan of the vocabulary). A filter
   * that levenshtein can answer keeps every word within the budget (see `osaFilter`); the exact
   * distance is computed here, and the caller's counts come from the per-chat vocabulary.
   */
  private async candidates(trx: Transaction<DB>, ctx: StageContext, fuzzy: FuzzyWord): Promise<Candidate[]> {
    const { word, length, maxEdits, trigramFloor } = fuzzy;
    await bound(trx, ctx);
    let query = trx
      .selectFrom('search_words')
      .select('word')
      .where(sql<number>`char_length(word)`, '>=', length - maxEdits)
      .where(sql<number>`char_length(word)`, '<=', length + maxEdits)
      .where(osaFilter(word, maxEdits))
      .limit(MAX_CANDIDATES);
    if (trigramFloor !== undefined) {
      await sql`select set_config('pg_trgm.similarity_threshold', ${trigramFloor.toFixed(4)}, true)`.execute(
        trx,
      );
      // The predicate of the trigram index, as written there.
      query = query
        .where(sql<SqlBool>`char_length(word) between 5 and 32`)
        .where(sql<SqlBool>`word % ${word}`);
    } else {
      const letters = [...word];
      const starts = [letters[0]!, ...(letters.length > 1 ? [letters[1]! + letters[0]!] : [])];
      query = query.where((eb) =>
        eb.or(
          starts.map((start) =>
            eb.and([
              eb('word', '>=', sql<string>`${start} collate "C"`),
              eb('word', '<', sql<string>`${start} || chr(1114111) collate "C"`),
            ]),
          ),
        ),
      );
    }
    const near = (await query.execute())
      .map((r) => ({ word: r.word, distance: osaDistance(word, r.word, maxEdits) }))
      .filter((c) => c.distance <= maxEdits && c.word !== word);
    if (near.length === 0) return [];
    await bound(trx, ctx);
    const counts = await trx
      .selectFrom('search_chat_words')
      .select(['word', sql<number>`sum(messages)`.as('n')])
      .where('chat_id', 'in', memberChats(trx, ctx.userId))
      .where(
        'word',
        'in',
        near.map((c) => c.word),
      )
      .groupBy('word')
      .execute();
    const frequency = new Map(counts.map((r) => [r.word, Number(r.n)]));
    return near.map((c) => ({ ...c, frequency: frequency.get(c.word) ?? 0 }));
  }

  /**
   * The newest messages of the user's chats that the tier's query matches, as many as the tiers
   * above left room for, without those already found.
   */
  private async findMessages(
    trx: Transaction<DB>,
    ctx: StageContext,
    tier: TierQuery,
    terms: Term[],
    corrections: Corrections,
    found: FoundRow[],
  ): Promise<FoundRow[]> {
    const room = ctx.limit - found.length;
    if (room <= 0) return [];
    // For ts_headline, per configuration, the same words: stems whole, tokens also as prefixes.
    const stems = [
      ...terms.map((t) => t.operand),
      ...[...corrections.values()].flat().map(quoteOperand),
    ].join(' | ');
    const tokens = [
      ...terms.map((t) => (t.prefix ? `${t.operand}:*` : t.operand)),
      ...[...corrections.values()].flat().map(quoteOperand),
    ].join(' | ');
    const parts = terms
      .map((t) => {
        const operand = quoteOperand(t.word.replace(GLUE, ' '));
        return t.prefix ? `${operand}:*` : operand;
      })
      .join(' | ');
    const headline = (config: 'english' | 'russian' | 'simple', operands: string, blank = '') =>
      sql<string>`ts_headline(${sql.lit(config)}::regconfig,
        translate(hit.text, ${START_MARK + STOP_MARK + blank}, ${' '.repeat(2 + blank.length)}),
        to_tsquery(${sql.lit(config)}::regconfig, ${operands}), ${HEADLINE_OPTIONS})`;

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
        headline('english', stems).as('marked_english'),
        headline('russian', stems).as('marked_russian'),
        headline('simple', tokens).as('marked_simple'),
        // The parts of glued tokens: the same text with the glue blanked, one character for one, so
        // that offsets stay those of the text ("site" in tjimenez@site.gmu.edu).
        headline('simple', parts, GLUE_CHARACTERS).as('marked_parts'),
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
      seq: Number(r.seq),
      match: tier.match,
      highlights: mergeRanges(
        r.text,
        [r.marked_english, r.marked_russian, r.marked_simple, r.marked_parts].flatMap((m) =>
          markedRanges(m, r.text.length),
        ),
      ),
    }));
  }
}

/**
 * The tiers of a phrase, best first. The phrase tier only for two words or more (one word as
 * written is the exact tier); the prefix tiers only for a phrase with a word of 3+ letters: first
 * with the caller's most frequent completions (indexed), then, when the caller's chats hold more
 * completions than those, with the bare prefixes (right, but not narrowed by the index: it reads
 * the caller's messages newest first until it has filled the room left).
 */
function tiers(terms: Term[], operands: string[], completions: Completions, written: boolean): TierQuery[] {
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

/**
 * Limits the next statement to the time left; throws when none is left. The limit is set again
 * only once half of the time it allowed has passed: each `set_config` is a round trip (2–6 ms on
 * a busy machine), and a statement then overruns the deadline by at most the time already spent.
 */
async function bound(trx: Transaction<DB>, ctx: StageContext): Promise<void> {
  const now = Date.now();
  const left = Math.ceil(ctx.deadline - now);
  if (left <= 0) throw new DeadlinePassed();
  if (ctx.timeout && now - ctx.timeout.at < ctx.timeout.ms / 2) return;
  await sql`select set_config('statement_timeout', ${String(left)}, true)`.execute(trx);
  ctx.timeout = { ms: left, at: now };
}

function isTimeout(err: unknown): boolean {
  return (
    err instanceof DeadlinePassed ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === QUERY_CANCELED)
  );
}

function newestFirst(found: FoundRow[]): SearchHit[] {
  return [...found]
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || b.seq - a.seq)
    .map(({ seq: _seq, ...hit }) => hit);
}

function listCorrections(corrections: Corrections): Correction[] {
  return [...corrections].map(([term, words]) => ({ word: term.word, corrections: words }));
}

/**
 * The caller's messages that `query` matches, newest first, at most `room`, without `exclude`.
 * When the caller's chats are small enough to read (`ctx.scan`), each chat is read on its own,
 * newest first through its (chat_id, created_at) index, until it has given `room` matches: a
 * planner that does not know how few chats the caller has would otherwise read every message.
 * Otherwise the GiST index narrows the query, unless `unindexed` (a bare prefix).
 */
function matching(
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

function memberChats(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('chat_members')
    .select('chat_members.chat_id')
    .where('chat_members.user_id', '=', userId);
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

/** Whether the word's query in the last prefix tier is whole lexemes the index can look up. */
function narrowsByIndex(term: Term, completions: Completions): boolean {
  return !term.prefix || completions.get(term)?.more === false;
}

/**
 * The word as written: its tokens (C) or a part of a glued token (D), lowercased. A word of several
 * tokens (an e-mail address, a URL, a hyphenated word) is a phrase of them.
 */
function exactQuery(term: Term): RawBuilder<unknown> {
  return sql`to_tsquery('simple', ${`${term.operand}:CD`})`;
}

/**
 * The word as written or any of its forms: English stems (A), Russian stems (B). A configuration
 * that finds no lexeme in the word (a stop word, punctuation) yields an empty query, which `||` drops.
 */
function stemQuery(term: Term): RawBuilder<unknown> {
  const { operand } = term;
  return sql`(to_tsquery('english', ${`${operand}:A`}) || to_tsquery('russian', ${`${operand}:B`}) || ${exactQuery(term)})`;
}

/**
 * Its forms, or tokens that start with it (from 3 characters). With `all` false, the tokens are
 * the caller's most frequent completions: whole lexemes the index can look up, ANDed with the
 * prefix itself (the same matches: a message that has tokens starting with each of the word's has
 * those). With `all`, every completion: the bare prefix when the caller has more than those.
 */
function prefixQuery(term: Term, completions: Completions, all: boolean): RawBuilder<unknown> {
  const stems = stemQuery(term);
  if (!term.prefix) return stems;
  const prefixes = sql`to_tsquery('simple', ${`${term.operand}:*CD`})`;
  const completion = completions.get(term);
  if (!completion || (all && completion.more)) return sql`(${stems} || ${prefixes})`;
  if (completion.top.length === 0) return stems;
  return sql`(${stems} || (${lexemeQuery(completion.top)} && ${prefixes}))`;
}

/** Corrections, each searched as a word is: its tokens and its forms. */
function wordsQuery(words: string[]): RawBuilder<unknown> {
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
function lexemeQuery(words: string[]): RawBuilder<unknown> {
  return sql`${words.map((w) => `${quoteOperand(w)}:CD`).join(' | ')}::tsquery`;
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
