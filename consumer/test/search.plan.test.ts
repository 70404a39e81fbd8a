/**
 * SearchRepository's query plans on a few thousand messages: the searches use the GiST, membership,
 * vocabulary and trigram indexes, never a scan of messages. On PGlite (always) and PostgreSQL
 * (TEST_POSTGRES_URL); see support/search-context.ts.
 */
import { expect } from 'chai';
import {
  CompiledQuery,
  PostgresQueryCompiler,
  sql,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import type { DB } from '@messenger/shared';
import { uniqueTag } from '../../shared/test/support/real-services.ts';
import { SearchRepository, type SearchOutcome } from '../src/search/search.repository.ts';
import { describeSearch } from './support/search-context.ts';

/** Remembers every query it sees, compiled, so a test can EXPLAIN exactly what the repository ran. */
class QueryRecorder implements KyselyPlugin {
  readonly queries: CompiledQuery[] = [];
  private readonly compiler = new PostgresQueryCompiler();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.queries.push(this.compiler.compileQuery(args.node, args.queryId));
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

async function explain(db: Kysely<DB>, query: CompiledQuery, before: CompiledQuery[] = []): Promise<string> {
  return db.transaction().execute(async (trx) => {
    for (const q of before) await trx.executeQuery(q);
    const { rows } = await trx.executeQuery<Record<string, string>>(
      CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]),
    );
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

describeSearch((ctx) => {
  describe('query plan', () => {
    let user: string;
    const recorder = new QueryRecorder();
    /** The queries of each search below, by phrase. */
    const ran = new Map<string, CompiledQuery[]>();
    const outcomes = new Map<string, SearchOutcome>();

    before(async function () {
      this.timeout(120_000);
      // A few thousand messages in 200 chats; the user is in 5 of them; 2,000 other memberships.
      user = await ctx.fx.user('explainer');
      await sql`
        insert into users (user_name) select 'planner-' || ${uniqueTag()} || '-' || g from generate_series(1, 400) g
      `.execute(ctx.database.db);
      await sql`
        insert into chats (chat_name) select 'planner-chat-' || g from generate_series(1, 200) g
      `.execute(ctx.database.db);
      await sql`
        insert into chat_members (chat_id, user_id)
        select c.id, u.id
        from (select id, row_number() over (order by id) as n from chats where chat_name like 'planner-chat-%') c
        join (select id, row_number() over (order by id) as n from users where user_name like 'planner-%') u
          on (c.n + u.n) % 40 = 0
      `.execute(ctx.database.db);
      await sql`
        insert into chat_members (chat_id, user_id)
        select id, ${user} from chats where chat_name like 'planner-chat-%' order by id limit 5
      `.execute(ctx.database.db);
      // Varied words (letters made from md5), a common one, and a rare one every 500th message.
      await sql`
        insert into messages (chat_id, seq, user_id, text, created_at)
        select c.id, g, ${user},
          translate(substr(md5(g::text), 1, 10), '0123456789', 'ghijklmnop') || ' '
            || translate(substr(md5((g * 7)::text), 1, 8), '0123456789', 'qrstuvwxyz') || ' report '
            || case when g % 500 = 0 then 'zeppelin' when g % 500 = 1 then 'internationalization' else 'status' end,
          now() - make_interval(secs => g)
        from generate_series(1, 4000) g
        join (select id, row_number() over (order by id) - 1 as n from chats where chat_name like 'planner-chat-%') c
          on c.n = g % 200
      `.execute(ctx.database.db);
      await sql`analyze`.execute(ctx.database.db);
      // The user's chats are small: read whole (the default), or through the GiST index as a
      // user with more messages than SCAN_MAX_MESSAGES would be.
      const scanning = new SearchRepository(ctx.database.db.withPlugin(recorder));
      const indexed = new SearchRepository(ctx.database.db.withPlugin(recorder), -1);
      for (const [mode, recording] of [
        ['scan', scanning],
        ['index', indexed],
      ] as const) {
        for (const phrase of ['zeppelin', 'zepp', 'zeppelni', 'internatoinalizaton']) {
          const before = recorder.queries.length;
          const outcome = await recording.search({
            userId: user,
            phrase,
            limit: 100,
            deadline: Date.now() + 30_000,
          });
          expect(outcome.results.length, phrase).to.be.above(0);
          ran.set(`${mode}:${phrase}`, recorder.queries.slice(before));
          outcomes.set(`${mode}:${phrase}`, outcome);
        }
      }
    });

    /** The last query of the search for `phrase` (by default the scanning one) whose SQL includes `needle`. */
    const query = (phrase: string, needle: string, mode = 'scan'): CompiledQuery => {
      const found = (ran.get(`${mode}:${phrase}`) ?? []).filter((q) => q.sql.includes(needle)).at(-1);
      expect(found, `a query with ${needle} for ${phrase}`).to.not.equal(undefined);
      return found as CompiledQuery;
    };

    for (const phrase of ['zeppelin', 'zepp', 'zeppelni', 'internatoinalizaton']) {
      it(`finds "${phrase}" in a small reach by reading each of the user's chats newest first`, async () => {
        const plan = await explain(ctx.database.db, query(phrase, 'ts_headline'));
        expect(plan).to.match(/messages_chat_id_created_at_idx|messages_chat_id_seq_key/);
        expect(plan).to.match(/chat_members_user_id_idx|chat_members_pkey/);
        expect(plan).to.not.include('Seq Scan on messages');
      });

      it(`finds "${phrase}" in a large reach through the GiST index and the membership index`, async () => {
        const plan = await explain(ctx.database.db, query(phrase, 'ts_headline', 'index'));
        expect(plan).to.include('messages_search_vector_idx');
        expect(plan).to.match(/chat_members_user_id_idx|chat_members_pkey/);
        expect(plan).to.not.include('Seq Scan on messages');
      });
    }

    it('reads a small reach once for all tiers, and with the corrections of a one-word typo', () => {
      for (const phrase of ['zeppelin', 'zepp', 'zeppelni']) {
        const reads = (ran.get(`scan:${phrase}`) ?? []).filter((q) => q.sql.includes('from messages m'));
        expect(reads, phrase).to.have.length(1);
      }
    });

    it('answers the same, tier for tier, whether it reads the chats or goes through the GiST index', () => {
      for (const phrase of ['zeppelin', 'zepp', 'zeppelni', 'internatoinalizaton']) {
        const [scan, index] = ['scan', 'index'].map((mode) => {
          const outcome = outcomes.get(`${mode}:${phrase}`);
          return {
            hits: outcome?.results.map((r) => [r.message_id, r.match, r.highlights]),
            corrections: outcome?.corrections,
          };
        });
        expect(scan, phrase).to.deep.equal(index);
      }
    });

    it("completes a prefix through the primary key of the caller's chats' vocabulary", async () => {
      const plan = await explain(ctx.database.db, query('zepp', 'from search_chat_words s'));
      expect(plan).to.include('search_chat_words_pkey');
      expect(plan).to.not.include('Seq Scan on search_chat_words');
    });

    it('looks typos of long words up through the trigram index', async () => {
      const threshold = query('internatoinalizaton', 'pg_trgm.similarity_threshold');
      const plan = await explain(ctx.database.db, query('internatoinalizaton', 'levenshtein_less_equal'), [
        threshold,
      ]);
      expect(plan).to.include('search_words_word_trgm_idx');
    });

    it("looks typos of short words up in the caller's chats' vocabulary through its key, in a small reach", async () => {
      const plan = await explain(ctx.database.db, query('zeppelni', 'levenshtein_less_equal'));
      expect(plan).to.include('search_chat_words_pkey');
      expect(plan).to.not.include('Seq Scan on search_chat_words');
    });

    it('looks typos of short words up by their first letters in the vocabulary, not a scan of it, in a large reach', async () => {
      const plan = await explain(ctx.database.db, query('zeppelni', 'levenshtein_less_equal', 'index'));
      expect(plan).to.include('search_words_pkey');
      expect(plan).to.not.include('Seq Scan on search_words');
    });

    it("counts the global vocabulary's candidates in the caller's chats through the per-chat vocabulary's key", async () => {
      const plan = await explain(ctx.database.db, query('zeppelni', 'from "search_chat_words"', 'index'));
      expect(plan).to.include('search_chat_words_pkey');
    });
  });
});
