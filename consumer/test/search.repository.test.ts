/**
 * SearchRepository against PGlite (always) and PostgreSQL (TEST_POSTGRES_URL): every matching rule,
 * membership, order, limit, the deadline, hostile phrases, highlight offsets and the query plan.
 * Each PostgreSQL run works in databases of its own, created here and dropped afterwards; each
 * test makes its own users and chats, so tests never see each other's messages.
 *
 * SEARCH_BENCH=1 adds a timing of searches over 100k messages on PostgreSQL (printed, not asserted).
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
import {
  connectDatabase,
  loadConfig,
  migrate,
  readMigrations,
  type Database,
  type DB,
} from '@messenger/shared';
import { describeRealService, realService, uniqueTag } from '../../shared/test/support/real-services.ts';
import { ScratchPostgres } from '../../shared/test/support/scratch-postgres.ts';
import { SearchRepository, type SearchHit } from '../src/search/search.repository.ts';

/** Opens new, migrated (or, with `upTo`, partly migrated) databases and disposes of them. */
interface Target {
  fresh(upTo?: number): Promise<Database>;
  dispose(): Promise<void>;
}

function openDatabase(url: string): Promise<Database> {
  return connectDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }));
}

async function migrateUpTo(database: Database, upTo?: number): Promise<void> {
  const all = await readMigrations();
  await migrate(database, upTo === undefined ? all : all.filter((m) => m.version <= upTo));
}

function pgliteTarget(): Target {
  const opened: Database[] = [];
  return {
    async fresh(upTo) {
      const database = await openDatabase('pglite://memory');
      opened.push(database);
      await migrateUpTo(database, upTo);
      return database;
    },
    async dispose() {
      for (const database of opened.splice(0)) await database.close();
    },
  };
}

async function postgresTarget(url: string): Promise<Target> {
  const scratch = await ScratchPostgres.connect(url, 'messenger_search');
  return {
    async fresh(upTo) {
      const database = await scratch.open(await scratch.create());
      await migrateUpTo(database, upTo);
      return database;
    },
    dispose: () => scratch.dispose(),
  };
}

/** Users, chats and messages written straight to the database, each test with its own. */
class Fixture {
  private readonly seqs = new Map<string, number>();
  /** Every message is a second newer than the one before, unless a time is given. */
  private clock = Date.UTC(2024, 0, 1);

  constructor(readonly db: Kysely<DB>) {}

  async user(name = 'user'): Promise<string> {
    const row = await this.db
      .insertInto('users')
      .values({ user_name: `${name}-${uniqueTag()}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async chat(...members: string[]): Promise<string> {
    const row = await this.db
      .insertInto('chats')
      .values({ chat_name: `chat-${uniqueTag()}`, created_by: members[0] ?? null })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (members.length > 0) {
      await this.db
        .insertInto('chat_members')
        .values(members.map((user_id) => ({ chat_id: row.id, user_id })))
        .execute();
    }
    return row.id;
  }

  async post(chatId: string, userId: string, text: string, at?: Date): Promise<string> {
    const seq = (this.seqs.get(chatId) ?? 0) + 1;
    this.seqs.set(chatId, seq);
    this.clock += 1000;
    const row = await this.db
      .insertInto('messages')
      .values({ chat_id: chatId, seq, user_id: userId, text, created_at: at ?? new Date(this.clock) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async leave(chatId: string, userId: string): Promise<void> {
    await this.db
      .deleteFrom('chat_members')
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .execute();
  }
}

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

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const texts = (hits: SearchHit[]): string[] => hits.map((h) => h.text);
const marked = (hit: SearchHit): string[] => hit.highlights.map((h) => hit.text.slice(h.start, h.end));

function describeSearch(open: () => Promise<Target>): void {
  let target: Target | undefined;
  let database: Database;
  let repo: SearchRepository;
  let fx: Fixture;

  before(async function () {
    this.timeout(60_000);
    target = await open();
    database = await target.fresh();
    repo = new SearchRepository(database.db);
    fx = new Fixture(database.db);
  });

  after(async function () {
    this.timeout(60_000);
    await target?.dispose();
  });

  /** A user alone in a chat of their own with these messages, oldest first. */
  async function userWith(...messages: string[]): Promise<{ user: string; chat: string }> {
    const user = await fx.user();
    const chat = await fx.chat(user);
    for (const text of messages) await fx.post(chat, user, text);
    return { user, chat };
  }

  async function search(userId: string, phrase: string, limit = 100): Promise<SearchHit[]> {
    const outcome = await repo.search({ userId, phrase, limit, deadline: Date.now() + 30_000 });
    expect(outcome.partial, 'partial').to.equal(false);
    return outcome.results;
  }

  describe('matching', () => {
    it('finds English word forms: "running" finds "run" and "runs", not "ran" nor "runway"', async () => {
      const { user } = await userWith(
        'I run every morning',
        'she runs fast',
        'we ran yesterday',
        'a long runway',
      );
      expect(texts(await search(user, 'running'))).to.have.members(['I run every morning', 'she runs fast']);
      expect(texts(await search(user, 'runs'))).to.include('I run every morning');
    });

    it('finds Russian word forms: "сообщения" finds "сообщение"', async () => {
      const { user } = await userWith('Новое сообщение от Анны', 'другой текст');
      expect(texts(await search(user, 'сообщения'))).to.deep.equal(['Новое сообщение от Анны']);
      expect(texts(await search(user, 'СООБЩЕНИЯМИ'))).to.deep.equal(['Новое сообщение от Анны']);
    });

    it('finds prefixes of words: "mess" finds "message", "messages" and "messaging"', async () => {
      const { user } = await userWith('a message', 'two messages', 'messaging apps', 'a mass of text');
      expect(texts(await search(user, 'mess'))).to.have.members([
        'a message',
        'two messages',
        'messaging apps',
      ]);
    });

    it('finds every completion of a prefix, even one with more than the query spells out', async () => {
      const { user, chat } = await userWith();
      // 300 distinct tokens starting with "qwz": more than a prefix is replaced by.
      await sql`
        insert into messages (chat_id, seq, user_id, text, created_at)
        select ${chat}, 1000 + g, ${user}, 'qwz' || g || ' note', now() + make_interval(secs => g)
        from generate_series(1, 300) g
      `.execute(database.db);
      expect(await search(user, 'qwz', 1000)).to.have.length(300);
      expect(texts(await search(user, 'qwz note', 2))).to.deep.equal(['qwz300 note', 'qwz299 note']);
      expect(texts(await search(user, 'qwz17'))).to.have.members([
        'qwz17 note',
        ...range(170, 180).map((n) => `qwz${n} note`),
      ]);
    });

    it('finds hyphenated words whole and by their parts', async () => {
      const { user } = await userWith('send me an e-mail', 'a state-of-the-art engine', 'an email');
      expect(texts(await search(user, 'e-mail'))).to.deep.equal(['send me an e-mail']);
      expect(texts(await search(user, 'state-of-the-art'))).to.deep.equal(['a state-of-the-art engine']);
      expect(texts(await search(user, 'state'))).to.deep.equal(['a state-of-the-art engine']);
      expect(texts(await search(user, 'art engine'))).to.deep.equal(['a state-of-the-art engine']);
    });

    it('finds e-mail addresses as one token, and their beginnings', async () => {
      const { user } = await userWith(
        'write to bob@example.com today',
        'write to alice@example.com',
        'bob is here',
      );
      expect(texts(await search(user, 'bob@example.com'))).to.deep.equal(['write to bob@example.com today']);
      expect(texts(await search(user, 'Bob@Example.COM'))).to.deep.equal(['write to bob@example.com today']);
      expect(texts(await search(user, 'bob@example.co'))).to.deep.equal(['write to bob@example.com today']);
    });

    it('finds URLs, their beginnings, and their host', async () => {
      const { user } = await userWith(
        'see https://example.com/path for details',
        'see https://example.com/other',
        'see https://example.org/path',
      );
      expect(texts(await search(user, 'https://example.com/path'))).to.deep.equal([
        'see https://example.com/path for details',
      ]);
      expect(texts(await search(user, 'example.com/pa'))).to.deep.equal([
        'see https://example.com/path for details',
      ]);
      expect(texts(await search(user, 'example.com'))).to.have.members([
        'see https://example.com/path for details',
        'see https://example.com/other',
      ]);
    });

    it('ignores case in the phrase and in the text', async () => {
      const { user } = await userWith('HELLO World', 'goodbye');
      expect(texts(await search(user, 'hello world'))).to.deep.equal(['HELLO World']);
      expect(texts(await search(user, 'HeLLo WORLD'))).to.deep.equal(['HELLO World']);
    });

    it('forgives typos of up to 2 characters in a word of 5 or more: "helo wrold" finds "hello world"', async () => {
      const { user } = await userWith('hello world', 'hello there', 'goodbye world');
      expect(texts(await search(user, 'helo wrold'))).to.deep.equal(['hello world']);
      expect(texts(await search(user, 'hello wrlod'))).to.deep.equal(['hello world']); // two edits
      expect(texts(await search(user, 'hlelo'))).to.have.members(['hello world', 'hello there']);
    });

    it('does not stretch a typo beyond 2 characters, nor correct words shorter than 4', async () => {
      const { user } = await userWith('hello world', 'the cat sat');
      expect(await search(user, 'wxrxx')).to.deep.equal([]); // three edits from "world"
      expect(await search(user, 'cta')).to.deep.equal([]);
    });

    it('forgives typos in long words and in Russian words', async () => {
      const { user } = await userWith('international relations', 'Новое сообщение');
      expect(texts(await search(user, 'internatinoal'))).to.deep.equal(['international relations']);
      expect(texts(await search(user, 'intrenational relatoins'))).to.deep.equal(['international relations']);
      // "сообшение" stems apart from "сообщение": only the correction finds it.
      expect(texts(await search(user, 'сообшение'))).to.deep.equal(['Новое сообщение']);
      expect(texts(await search(user, 'сбоощение'))).to.deep.equal(['Новое сообщение']);
    });

    it('does not correct a word that matches as written', async () => {
      const { user } = await userWith('would you', 'hello world');
      expect(texts(await search(user, 'would'))).to.deep.equal(['would you']);
    });

    it('keeps stop words searchable: "the" alone, and "to be or not to be"', async () => {
      const { user } = await userWith('the cat', 'To be, or not to be: that is the question', 'a dog');
      expect(texts(await search(user, 'the'))).to.have.members([
        'the cat',
        'To be, or not to be: that is the question',
      ]);
      expect(texts(await search(user, 'to be or not to be'))).to.deep.equal([
        'To be, or not to be: that is the question',
      ]);
    });

    it('requires every word of the phrase', async () => {
      const { user } = await userWith('hello world', 'hello moon', 'world peace');
      expect(texts(await search(user, 'hello moon'))).to.deep.equal(['hello moon']);
      expect(texts(await search(user, 'world hello'))).to.deep.equal(['hello world']);
      expect(await search(user, 'hello mars')).to.deep.equal([]);
    });

    it('answers nothing, without an error, for a phrase with nothing to search', async () => {
      const { user } = await userWith('hello!!!! world', '*** ??? ...');
      for (const phrase of ['!!!!', '   ', '', '*** ???', '<b></b>']) {
        expect(await search(user, phrase), phrase).to.deep.equal([]);
      }
    });

    it('treats tsquery syntax in the phrase as text', async () => {
      const { user } = await userWith('a & b', "it's a test", 'back\\slash');
      const hostile = [
        "a & | ! ( ) : * '",
        "'",
        "''",
        '\\',
        "\\'",
        "it's",
        'a:*A',
        '!a',
        '(a | b',
        'a <-> b',
        "'); drop table messages; --",
        'x:*ABCD & !!!',
        'back\\slash',
        '\u0000\u0001\u0002',
        'a\u0000b',
      ];
      for (const phrase of hostile) {
        const outcome = await repo.search({ userId: user, phrase, limit: 10, deadline: Date.now() + 30_000 });
        expect(outcome.partial, phrase).to.equal(false);
      }
      expect(texts(await search(user, "it's"))).to.deep.equal(["it's a test"]);
      // Random punctuation soup: never an error.
      const alphabet = `&|!():*'"\\<>-@./ ab`;
      for (let i = 0; i < 100; i++) {
        const phrase = Array.from(
          { length: 1 + (i % 12) },
          (_, j) => alphabet[(i * 7 + j * 13) % alphabet.length],
        ).join('');
        await repo.search({ userId: user, phrase, limit: 10, deadline: Date.now() + 30_000 });
      }
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from messages`.execute(database.db);
      expect(rows[0]?.n).to.be.above(0);
    });
  });

  describe('scope and order', () => {
    it("never finds another user's chat", async () => {
      const alice = await userWith('secret plans for alice');
      const bob = await userWith('secret plans for bob');
      expect(texts(await search(alice.user, 'secret plans'))).to.deep.equal(['secret plans for alice']);
      expect(texts(await search(alice.user, 'bob'))).to.deep.equal([]);
      expect(texts(await search(alice.user, 'secrte plasn'))).to.deep.equal(['secret plans for alice']);
      expect(texts(await search(bob.user, 'secret'))).to.deep.equal(['secret plans for bob']);
    });

    it('finds the messages of every chat the user is in, whoever wrote them', async () => {
      const [alice, bob] = [await fx.user(), await fx.user()];
      const shared = await fx.chat(alice, bob);
      const own = await fx.chat(alice);
      await fx.post(shared, bob, 'meeting at noon');
      await fx.post(own, alice, 'meeting notes');
      const hits = await search(alice, 'meeting');
      expect(texts(hits)).to.deep.equal(['meeting notes', 'meeting at noon']);
      expect(hits[1]).to.include({ user_id: bob, chat_id: shared });
      const userName = await database.db
        .selectFrom('users')
        .select('user_name')
        .where('id', '=', bob)
        .executeTakeFirstOrThrow();
      expect(hits[1]?.user_name).to.equal(userName.user_name);
    });

    it('stops finding a chat once the user has left it', async () => {
      const [alice, bob] = [await fx.user(), await fx.user()];
      const chat = await fx.chat(alice, bob);
      await fx.post(chat, alice, 'quarterly report');
      expect(texts(await search(bob, 'quarterly'))).to.deep.equal(['quarterly report']);
      await fx.leave(chat, bob);
      expect(await search(bob, 'quarterly')).to.deep.equal([]);
      expect(await search(bob, 'quartelry')).to.deep.equal([]);
    });

    it('answers newest first (by time, then seq), at most `limit`', async () => {
      const { user, chat } = await userWith();
      const at = new Date(Date.UTC(2024, 5, 1));
      await fx.post(chat, user, 'report one', new Date(at.getTime() - 60_000));
      await fx.post(chat, user, 'report two', at);
      await fx.post(chat, user, 'report three', at); // same time, later seq
      await fx.post(chat, user, 'report four', new Date(at.getTime() + 60_000));
      await fx.post(chat, user, 'report five', new Date(at.getTime() - 120_000));
      expect(texts(await search(user, 'report'))).to.deep.equal([
        'report four',
        'report three',
        'report two',
        'report one',
        'report five',
      ]);
      expect(texts(await search(user, 'report', 2))).to.deep.equal(['report four', 'report three']);
      const hit = (await search(user, 'report', 1))[0];
      expect(hit?.created_at).to.be.instanceOf(Date);
      expect(hit?.created_at.getTime()).to.equal(at.getTime() + 60_000);
    });

    it('answers nothing for a limit below 1 or a user id that is not a UUID', async () => {
      const { user } = await userWith('report');
      expect(await search(user, 'report', 0)).to.deep.equal([]);
      expect(await search('not-a-uuid', 'report')).to.deep.equal([]);
    });

    it('answers partial, without throwing, when the deadline has already passed', async () => {
      const { user } = await userWith('hello world');
      const outcome = await repo.search({
        userId: user,
        phrase: 'hello',
        limit: 10,
        deadline: Date.now() - 1,
      });
      expect(outcome).to.deep.equal({ results: [], partial: true });
    });

    it('cancels a statement at the deadline and answers partial (statement_timeout; PGlite does not enforce it)', async function () {
      // PGlite runs one statement at a time and does not enforce statement_timeout: there the
      // deadline is checked between statements only.
      if (database.backend !== 'postgres') this.skip();
      this.timeout(10_000);
      const { user } = await userWith('hello world');
      const searchWithin = (phrase: string, ms: number) =>
        repo.search({ userId: user, phrase, limit: 10, deadline: Date.now() + ms });
      // Another transaction holds the messages, then the vocabulary: the statement waiting on the
      // lock is cancelled at the deadline, and the search answers what it had (nothing) as partial.
      for (const table of ['messages', 'search_words']) {
        await database.db.transaction().execute(async (trx) => {
          await sql`lock table ${sql.table(table)} in access exclusive mode`.execute(trx);
          const started = Date.now();
          expect(await searchWithin('helo wrold', 300), table).to.deep.equal({ results: [], partial: true });
          expect(Date.now() - started, table).to.be.below(2_000);
        });
      }
      expect(texts((await searchWithin('helo wrold', 10_000)).results)).to.deep.equal(['hello world']);
    });
  });

  describe('highlights', () => {
    const one = async (phrase: string, text: string): Promise<SearchHit> => {
      const { user } = await userWith(text);
      const hits = await search(user, phrase);
      expect(hits, phrase).to.have.length(1);
      return hits[0] as SearchHit;
    };

    it('marks a stemmed match', async () => {
      expect(marked(await one('running', 'She runs every day'))).to.deep.equal(['runs']);
    });

    it('marks a prefix match', async () => {
      expect(marked(await one('mess', 'Read the message, then the next message'))).to.deep.equal([
        'message',
        'message',
      ]);
    });

    it('marks the word a typo was corrected to', async () => {
      expect(marked(await one('helo wrold', 'Hello, world!'))).to.deep.equal(['Hello', 'world']);
    });

    it('marks an e-mail address, a hyphenated word and a Russian word form', async () => {
      expect(marked(await one('bob@example.com', 'mail bob@example.com now'))).to.deep.equal([
        'bob@example.com',
      ]);
      expect(marked(await one('e-mail', 'an e-mail to send'))).to.deep.equal(['e-mail']);
      expect(marked(await one('сообщения', 'Привет! Новое сообщение.'))).to.deep.equal(['сообщение']);
    });

    it('gives sorted, separate ranges in UTF-16 offsets, whatever the text holds', async () => {
      const text = 'naïve 😀 émoji\tmessage\r\n\u0001 message  \u0002messages😀';
      const hit = await one('message', text);
      expect(marked(hit)).to.deep.equal(['message', 'message', 'messages']);
      for (let i = 1; i < hit.highlights.length; i++) {
        expect(hit.highlights[i]!.start).to.be.above(hit.highlights[i - 1]!.end);
      }
    });
  });

  describe('vocabulary', () => {
    it('learns the words of an edited message', async () => {
      const { user, chat } = await userWith();
      const id = await fx.post(chat, user, 'placeholder');
      await database.db
        .updateTable('messages')
        .set({ text: 'zanzibar holidays' })
        .where('id', '=', id)
        .execute();
      expect(texts(await search(user, 'zanzibra'))).to.deep.equal(['zanzibar holidays']);
    });

    it('is filled, with the vectors, for messages written before the migration', async function () {
      this.timeout(60_000);
      const old = await target!.fresh(1);
      const f = new Fixture(old.db);
      const user = await f.user();
      const chat = await f.chat(user);
      await f.post(chat, user, 'legacy quokka sighting');
      await migrate(old);
      const r = new SearchRepository(old.db);
      for (const phrase of ['quokka', 'sightings', 'qokka']) {
        const outcome = await r.search({ userId: user, phrase, limit: 10, deadline: Date.now() + 30_000 });
        expect(texts(outcome.results), phrase).to.deep.equal(['legacy quokka sighting']);
      }
    });
  });

  describe('query plan', () => {
    let user: string;
    const recorder = new QueryRecorder();
    /** The queries of each search below, by phrase. */
    const ran = new Map<string, CompiledQuery[]>();

    before(async function () {
      this.timeout(120_000);
      // A few thousand messages in 200 chats; the user is in 5 of them; 2,000 other memberships.
      user = await fx.user('explainer');
      await sql`
        insert into users (user_name) select 'planner-' || ${uniqueTag()} || '-' || g from generate_series(1, 400) g
      `.execute(database.db);
      await sql`
        insert into chats (chat_name) select 'planner-chat-' || g from generate_series(1, 200) g
      `.execute(database.db);
      await sql`
        insert into chat_members (chat_id, user_id)
        select c.id, u.id
        from (select id, row_number() over (order by id) as n from chats where chat_name like 'planner-chat-%') c
        join (select id, row_number() over (order by id) as n from users where user_name like 'planner-%') u
          on (c.n + u.n) % 40 = 0
      `.execute(database.db);
      await sql`
        insert into chat_members (chat_id, user_id)
        select id, ${user} from chats where chat_name like 'planner-chat-%' order by id limit 5
      `.execute(database.db);
      // Varied words (letters made from md5), a common one, and a rare one every 500th message.
      await sql`
        insert into messages (chat_id, seq, user_id, text, created_at)
        select c.id, g, ${user},
          translate(substr(md5(g::text), 1, 10), '0123456789', 'ghijklmnop') || ' '
            || translate(substr(md5((g * 7)::text), 1, 8), '0123456789', 'qrstuvwxyz') || ' report '
            || case when g % 500 = 0 then 'zeppelin' else 'status' end,
          now() - make_interval(secs => g)
        from generate_series(1, 4000) g
        join (select id, row_number() over (order by id) - 1 as n from chats where chat_name like 'planner-chat-%') c
          on c.n = g % 200
      `.execute(database.db);
      await sql`analyze`.execute(database.db);
      const recording = new SearchRepository(database.db.withPlugin(recorder));
      for (const phrase of ['zeppelin', 'zepp', 'zeppelni']) {
        const before = recorder.queries.length;
        const outcome = await recording.search({
          userId: user,
          phrase,
          limit: 100,
          deadline: Date.now() + 30_000,
        });
        expect(outcome.results.length, phrase).to.be.above(0);
        ran.set(phrase, recorder.queries.slice(before));
      }
    });

    /** The last query of the search for `phrase` whose SQL includes `needle`. */
    const query = (phrase: string, needle: string): CompiledQuery => {
      const found = (ran.get(phrase) ?? []).filter((q) => q.sql.includes(needle)).at(-1);
      expect(found, `a query with ${needle} for ${phrase}`).to.not.equal(undefined);
      return found as CompiledQuery;
    };

    for (const phrase of ['zeppelin', 'zepp', 'zeppelni']) {
      it(`finds "${phrase}" through the GiST index and the membership index, not a scan of messages`, async () => {
        const plan = await explain(database.db, query(phrase, 'ts_headline'));
        expect(plan).to.include('messages_search_vector_idx');
        expect(plan).to.match(/chat_members_user_id_idx|chat_members_pkey/);
        expect(plan).to.not.include('Seq Scan on messages');
      });
    }

    it('completes a prefix through the primary key of the vocabulary', async () => {
      expect(await explain(database.db, query('zepp', 'from "search_words"'))).to.include(
        'search_words_pkey',
      );
    });

    it('looks typos of long words up through the trigram index', async () => {
      const threshold = query('zeppelni', 'pg_trgm.similarity_threshold');
      const plan = await explain(database.db, query('zeppelni', 'levenshtein_less_equal'), [threshold]);
      expect(plan).to.include('search_words_word_trgm_idx');
    });
  });
}

describe('SearchRepository', () => {
  describe('on PGlite', () => describeSearch(async () => pgliteTarget()));

  describeRealService(
    'on PostgreSQL',
    realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/postgres'),
    (url) => describeSearch(() => postgresTarget(url as string)),
  );

  if (process.env.SEARCH_BENCH === '1') {
    describeRealService(
      'on PostgreSQL, 100k messages (SEARCH_BENCH=1)',
      realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/postgres'),
      (url) => describeBench(() => postgresTarget(url as string)),
    );
  }
});

function describeBench(open: () => Promise<Target>): void {
  let target: Target | undefined;
  let database: Database;
  let user: string;

  before(async function () {
    this.timeout(600_000);
    target = await open();
    database = await target.fresh();
    const fx = new Fixture(database.db);
    user = await fx.user('bench');
    const chat = await fx.chat(user);
    const started = Date.now();
    // One statement: 100k messages in one chat, varied: two words of a common twenty (so that pairs
    // co-occur), a stop word, a random token, an address, URL or hyphenated word, a rare word.
    await sql`
      insert into messages (chat_id, seq, user_id, text, created_at)
      select ${chat}, g, ${user},
        w.common[1 + g % 20] || ' ' || (array['the','a','to','be','our','new','old','big','small','next'])[1 + (g / 7) % 10]
          || ' ' || translate(substr(md5(g::text), 1, 3 + g % 6), '0123456789', 'aeioubcdfg')
          || ' ' || w.common[1 + (g / 20) % 20]
          || ' ' || (array['team','client','server','e-mail','bob@example.com','https://example.com/path',
                          'state-of-the-art','tomorrow','today','friday'])[1 + (g / 3) % 10]
          || case when g % 1000 = 0 then ' zeppelin' else '' end,
        timestamptz '2024-01-01' + make_interval(secs => g)
      from generate_series(1, 100000) g,
        (select array['hello','world','message','running','deploy','release','meeting','report','сообщение',
                      'привет','database','search','index','weekly','status','update','coffee','lunch','please',
                      'review'] as common) w
    `.execute(database.db);
    await sql`analyze`.execute(database.db);
    console.log(`      inserted 100k messages in ${Date.now() - started} ms`);
  });

  after(async function () {
    this.timeout(60_000);
    await target?.dispose();
  });

  it('times searches over 100k messages (printed, not asserted)', async function () {
    this.timeout(600_000);
    const repo = new SearchRepository(database.db);
    const phrases = [
      'zeppelin',
      'hello',
      'hello world',
      'mess',
      'the',
      'running report',
      'сообщения',
      'bob@example.com',
      'state-of-the-art',
      'helo wrold',
      'zepelin',
      'nothingatall',
    ];
    for (const phrase of phrases) {
      const times: number[] = [];
      let found = 0;
      for (let i = 0; i < 9; i++) {
        const started = process.hrtime.bigint();
        const { results } = await repo.search({
          userId: user,
          phrase,
          limit: 100,
          deadline: Date.now() + 5_000,
        });
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        found = results.length;
      }
      times.sort((a, b) => a - b);
      console.log(
        `      ${JSON.stringify(phrase).padEnd(20)} ${String(found).padStart(3)} results  median ${times[4]?.toFixed(1)} ms  (min ${times[0]?.toFixed(1)}, max ${times[8]?.toFixed(1)})`,
      );
    }
  });
}
