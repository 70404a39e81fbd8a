/**
 * SearchRepository, whose messages a search finds and how it answers: membership, order, limit,
 * the deadline, highlight offsets, and the vocabulary typos are corrected against. On PGlite
 * (always) and PostgreSQL (TEST_POSTGRES_URL); see support/search-context.ts. What a phrase matches
 * is in search.matching.test.ts, the query plans in search.plan.test.ts.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { migrate } from '@messenger/shared';
import { SearchRepository, type SearchHit } from '../src/search/search.repository.ts';
import { describeSearch, Fixture, marked, texts } from './support/search-context.ts';

describeSearch((ctx) => {
  const { userWith, search } = ctx;

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
      const [alice, bob] = [await ctx.fx.user(), await ctx.fx.user()];
      const shared = await ctx.fx.chat(alice, bob);
      const own = await ctx.fx.chat(alice);
      await ctx.fx.post(shared, bob, 'meeting at noon');
      await ctx.fx.post(own, alice, 'meeting notes');
      const hits = await search(alice, 'meeting');
      expect(texts(hits)).to.deep.equal(['meeting notes', 'meeting at noon']);
      expect(hits[1]).to.include({ user_id: bob, chat_id: shared });
      const userName = await ctx.database.db
        .selectFrom('users')
        .select('user_name')
        .where('id', '=', bob)
        .executeTakeFirstOrThrow();
      expect(hits[1]?.user_name).to.equal(userName.user_name);
    });

    it('stops finding a chat once the user has left it', async () => {
      const [alice, bob] = [await ctx.fx.user(), await ctx.fx.user()];
      const chat = await ctx.fx.chat(alice, bob);
      await ctx.fx.post(chat, alice, 'quarterly report');
      expect(texts(await search(bob, 'quarterly'))).to.deep.equal(['quarterly report']);
      await ctx.fx.leave(chat, bob);
      expect(await search(bob, 'quarterly')).to.deep.equal([]);
      expect(await search(bob, 'quartelry')).to.deep.equal([]);
    });

    it('answers newest first (by time, then seq), at most `limit`', async () => {
      const { user, chat } = await userWith();
      const at = new Date(Date.UTC(2024, 5, 1));
      await ctx.fx.post(chat, user, 'report one', new Date(at.getTime() - 60_000));
      await ctx.fx.post(chat, user, 'report two', at);
      await ctx.fx.post(chat, user, 'report three', at); // same time, later seq
      await ctx.fx.post(chat, user, 'report four', new Date(at.getTime() + 60_000));
      await ctx.fx.post(chat, user, 'report five', new Date(at.getTime() - 120_000));
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
      const outcome = await ctx.repo.search({
        userId: user,
        phrase: 'hello',
        limit: 10,
        deadline: Date.now() - 1,
      });
      expect(outcome).to.deep.equal({ results: [], partial: true, corrections: [] });
    });

    it('cancels a statement at the deadline and answers partial (statement_timeout; PGlite does not enforce it)', async function () {
      // PGlite runs one statement at a time and does not enforce statement_timeout: there the
      // deadline is checked between statements only.
      if (ctx.database.backend !== 'postgres') this.skip();
      this.timeout(10_000);
      const { user } = await userWith('hello world');
      // The global vocabulary is read for typos only through the GiST path (a large reach).
      const indexed = new SearchRepository(ctx.database.db, -1);
      const searchWithin = (phrase: string, ms: number, repo = ctx.repo) =>
        repo.search({ userId: user, phrase, limit: 10, deadline: Date.now() + ms });
      // Another transaction holds the messages, then the vocabularies: the statement waiting on the
      // lock is cancelled at the deadline, and the search answers what it had (nothing) as partial.
      for (const [table, repo] of [
        ['messages', ctx.repo],
        ['search_chat_words', ctx.repo],
        ['search_words', indexed],
      ] as const) {
        await ctx.database.db.transaction().execute(async (trx) => {
          await sql`lock table ${sql.table(table)} in access exclusive mode`.execute(trx);
          const started = Date.now();
          expect(await searchWithin('helo wrold', 300, repo), table).to.deep.equal({
            results: [],
            partial: true,
            corrections: [],
          });
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
      const id = await ctx.fx.post(chat, user, 'placeholder');
      await ctx.database.db
        .updateTable('messages')
        .set({ text: 'zanzibar holidays' })
        .where('id', '=', id)
        .execute();
      expect(texts(await search(user, 'zanzibra'))).to.deep.equal(['zanzibar holidays']);
    });

    it('is filled, with the vectors, for messages written before the migration', async function () {
      this.timeout(60_000);
      const old = await ctx.target.fresh(1);
      const f = new Fixture(old.db);
      const user = await f.user();
      const chat = await f.chat(user);
      await f.post(chat, user, 'legacy quokka sighting');
      await f.post(chat, user, 'mail quokka@zoo.example');
      await migrate(old);
      const r = new SearchRepository(old.db);
      // 0011 made the vectors again (glued parts) and counted the words per chat.
      const zoo = await r.search({ userId: user, phrase: 'zoo', limit: 10, deadline: Date.now() + 30_000 });
      expect(texts(zoo.results)).to.deep.equal(['mail quokka@zoo.example']);
      const counted = await old.db
        .selectFrom('search_chat_words')
        .select(['word', 'messages'])
        .where('chat_id', '=', chat)
        .where('word', 'in', ['quokka', 'legacy'])
        .orderBy('word')
        .execute();
      expect(counted.map((c) => [c.word, Number(c.messages)])).to.deep.equal([
        ['legacy', 1],
        ['quokka', 2],
      ]);
      const find = async (phrase: string) =>
        texts((await r.search({ userId: user, phrase, limit: 10, deadline: Date.now() + 30_000 })).results);
      expect(await find('sightings')).to.deep.equal(['legacy quokka sighting']);
      expect(await find('qokka')).to.deep.equal(['mail quokka@zoo.example', 'legacy quokka sighting']);
    });
  });
});
