/**
 * SearchRepository, the rules of issue 14: transposed letters, chosen corrections, tiers (phrase,
 * exact, stem, prefix, corrected) filled best first and returned newest first, the parts of glued
 * tokens, and the per-chat vocabulary behind corrections and completions. On PGlite (always) and
 * PostgreSQL (TEST_POSTGRES_URL); see support/search-context.ts.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import type { SearchHit } from '../src/search/search.repository.ts';
import { describeSearch, marked, texts } from './support/search-context.ts';

const tiers = (hits: SearchHit[]) => hits.map((h) => [h.text, h.match]);

describeSearch((ctx) => {
  const { userWith } = ctx;
  const run = (userId: string, phrase: string, limit = 100) =>
    ctx.repo.search({ userId, phrase, limit, deadline: Date.now() + 30_000 });

  describe('relevance', () => {
    describe('typos, by OSA distance', () => {
      it('counts a swap as one edit: "bneeflt" finds benefit, "млоось" молюсь (two swaps each)', async () => {
        const { user } = await userWith(
          'the main benefit is that it is free',
          'я молюсь за тебя',
          'bent rules',
        );
        const english = await run(user, 'bneeflt');
        expect(texts(english.results)).to.deep.equal(['the main benefit is that it is free']);
        expect(english.results[0]!.match).to.equal('corrected');
        expect(english.corrections).to.deep.equal([{ word: 'bneeflt', corrections: ['benefit'] }]);
        expect(texts((await run(user, 'млоось')).results)).to.deep.equal(['я молюсь за тебя']);
      });

      it('allows one edit in a 4-letter word and two from 5 letters, a swap counting one', async () => {
        const { user } = await userWith('a cold room', 'hello world');
        expect(texts((await run(user, 'ocld')).results)).to.deep.equal(['a cold room']); // one swap
        expect(texts((await run(user, 'oclt')).results)).to.deep.equal([]); // a swap and a change
        expect(texts((await run(user, 'ehllo wrodl')).results)).to.deep.equal(['hello world']);
        expect(texts((await run(user, 'ehlol')).results)).to.deep.equal(['hello world']); // two swaps
        expect(texts((await run(user, 'ehlolx')).results)).to.deep.equal([]); // three edits
      });

      it('corrects only the words that match nothing as written', async () => {
        const { user } = await userWith('cold coffee', 'gold coffee');
        const outcome = await run(user, 'cofefe gold');
        expect(texts(outcome.results)).to.deep.equal(['gold coffee']);
        expect(outcome.corrections).to.deep.equal([{ word: 'cofefe', corrections: ['coffee'] }]);
      });
    });

    describe('choosing corrections', () => {
      it('reads like what was meant: "tivet" is ticket, not the commoner lives, river or tired', async () => {
        const { user } = await userWith(
          'I bought a ticket',
          'lost my ticket',
          'she lives near the river',
          'he lives in Berlin',
          'the river was cold',
          'a wide river',
          'I was tired',
          'tired of waiting',
        );
        const outcome = await run(user, 'tivet');
        expect(texts(outcome.results)).to.have.members(['I bought a ticket', 'lost my ticket']);
        expect(outcome.corrections).to.deep.equal([{ word: 'tivet', corrections: ['ticket'] }]);
      });

      it('prefers one edit to two, and keeps at most 3 corrections, the likeliest first', async () => {
        const { user } = await userWith('hello world', 'would you', 'a word', 'the worlds');
        // "wrold": world is one swap away; would (2 edits) is not used.
        const outcome = await run(user, 'wrold');
        expect(outcome.corrections).to.deep.equal([{ word: 'wrold', corrections: ['world'] }]);
        // "bxts": bats, bets, bits, bots, buts all one edit away, kept ends and counts equal.
        const { user: other } = await userWith('bats', 'bets', 'bits', 'bots', 'buts');
        const many = await run(other, 'bxts');
        expect(many.corrections).to.deep.equal([{ word: 'bxts', corrections: ['bats', 'bets', 'bits'] }]);
        expect(texts(many.results)).to.deep.equal(['bits', 'bets', 'bats']);
      });

      it("chooses from the caller's chats only: a word only someone else wrote is no correction", async () => {
        const { user } = await userWith('lost my ticket');
        const { user: stranger } = await userWith('wanna buy a tiger?', 'tiger tiger tiger');
        const outcome = await run(stranger, 'tivet');
        expect(outcome.corrections).to.deep.equal([{ word: 'tivet', corrections: ['tiger'] }]);
        expect(texts((await run(user, 'tivet')).results)).to.deep.equal(['lost my ticket']);
      });
    });

    describe('tiers', () => {
      it('puts the phrase as written first, stop words counting: "one of the" before a bag of its words', async () => {
        const { user } = await userWith(
          'one of the best days',
          'this is one of the reasons',
          'the one we saw of late', // newer, the words but not the phrase
          'the best of one world',
        );
        const outcome = await run(user, 'one of the', 2);
        expect(tiers(outcome.results)).to.deep.equal([
          ['this is one of the reasons', 'phrase'],
          ['one of the best days', 'phrase'],
        ]);
        // With room left, still the phrase only: with its stop words, the bag of words is not what was meant.
        expect(tiers((await run(user, 'one of the')).results)).to.deep.equal([
          ['this is one of the reasons', 'phrase'],
          ['one of the best days', 'phrase'],
        ]);
        // Not found as written: the bag of words, newest first.
        expect(tiers((await run(user, 'one the of')).results)).to.deep.equal([
          ['the best of one world', 'exact'],
          ['the one we saw of late', 'exact'],
          ['this is one of the reasons', 'exact'],
          ['one of the best days', 'exact'],
        ]);
      });

      it('lets the other words follow a phrase of no stop words: "best days" then "days best"', async () => {
        const { user } = await userWith('the best days', 'days were best', 'best of days');
        expect(tiers((await run(user, 'best days')).results)).to.deep.equal([
          ['best of days', 'exact'],
          ['days were best', 'exact'],
          ['the best days', 'phrase'],
        ]);
      });

      it('finds "и не только" and "to be or not to be" as written, repeats and order kept', async () => {
        const { user } = await userWith(
          'и не только это',
          'не только он, но и она',
          'to be or not to be, that is the question',
          'not to be confused, or to be',
        );
        expect(tiers((await run(user, 'и не только', 1)).results)).to.deep.equal([
          ['и не только это', 'phrase'],
        ]);
        expect(tiers((await run(user, 'to be or not to be', 1)).results)).to.deep.equal([
          ['to be or not to be, that is the question', 'phrase'],
        ]);
      });

      it('puts exact words before other forms of them: "каком" before какие, каким, какой', async () => {
        const { user } = await userWith(
          'в каком городе',
          'о каком проекте',
          'какие новости',
          'каким образом',
          'какой день',
        );
        const outcome = await run(user, 'каком', 2);
        expect(tiers(outcome.results)).to.deep.equal([
          ['о каком проекте', 'exact'],
          ['в каком городе', 'exact'],
        ]);
        // With room left, the other forms follow ("какой" is a Russian stop word: no stem).
        expect(tiers((await run(user, 'каком')).results)).to.deep.equal([
          ['каким образом', 'stem'],
          ['какие новости', 'stem'],
          ['о каком проекте', 'exact'],
          ['в каком городе', 'exact'],
        ]);
      });

      it('puts word forms before prefixes: "run" finds run, then runs, then runway', async () => {
        const { user } = await userWith('a long runway', 'she runs fast', 'I run daily');
        expect(tiers((await run(user, 'run')).results)).to.deep.equal([
          ['I run daily', 'exact'],
          ['she runs fast', 'stem'],
          ['a long runway', 'prefix'],
        ]);
      });

      it('completes a prefix with the most frequent words of the caller\'s chats: "оста"', async () => {
        const { user } = await userWith(
          'остался один день',
          'останься ещё',
          'остановка у метро',
          'острый соус',
        );
        const outcome = await run(user, 'оста');
        expect(texts(outcome.results)).to.have.members([
          'остался один день',
          'останься ещё',
          'остановка у метро',
        ]);
        expect(outcome.results.every((h) => h.match === 'prefix')).to.equal(true);
      });
    });

    describe('glued tokens', () => {
      it('finds words inside e-mail addresses, hosts and paths, and both halves of "and/or"', async () => {
        const { user } = await userWith(
          'write to tjimenez@site.gmu.edu for access',
          'see acct.run for the schedule',
          'and/or both work',
          'logs in /var/log/app/errors.log',
        );
        expect(texts((await run(user, 'site')).results)).to.deep.equal([
          'write to tjimenez@site.gmu.edu for access',
        ]);
        expect(texts((await run(user, 'gmu')).results)).to.deep.equal([
          'write to tjimenez@site.gmu.edu for access',
        ]);
        expect(texts((await run(user, 'run')).results)).to.deep.equal(['see acct.run for the schedule']);
        expect(texts((await run(user, 'or')).results)).to.deep.equal(['and/or both work']);
        expect(texts((await run(user, 'errors')).results)).to.deep.equal(['logs in /var/log/app/errors.log']);
        expect((await run(user, 'site')).results[0]!.match).to.equal('exact');
        // Highlighted where the part is, in the text's own offsets.
        expect(marked((await run(user, 'gmu')).results[0]!)).to.deep.equal(['gmu']);
        expect(marked((await run(user, 'errors')).results[0]!)).to.deep.equal(['errors']);
      });

      it('still finds the whole token, and does not split plain words', async () => {
        const { user } = await userWith(
          'write to tjimenez@site.gmu.edu',
          'a site of note',
          'bob@example.com',
        );
        expect(texts((await run(user, 'tjimenez@site.gmu.edu')).results)).to.deep.equal([
          'write to tjimenez@site.gmu.edu',
        ]);
        expect(texts((await run(user, 'site')).results)).to.have.members([
          'write to tjimenez@site.gmu.edu',
          'a site of note',
        ]);
        expect(texts((await run(user, 'example')).results)).to.deep.equal(['bob@example.com']);
      });
    });

    describe('the per-chat vocabulary', () => {
      const counts = async (chat: string) => {
        const { rows } = await sql<{ word: string; messages: number }>`
          select word, messages from search_chat_words where chat_id = ${chat} and messages > 0 order by word
        `.execute(ctx.database.db);
        return Object.fromEntries(rows.map((r) => [r.word, Number(r.messages)]));
      };

      it('counts the messages holding each token and glued part, through posts, edits and deletes', async () => {
        const { user, chat } = await userWith('hello world', 'hello a.b');
        expect(await counts(chat)).to.deep.equal({ a: 1, 'a.b': 1, b: 1, hello: 2, world: 1 });
        await ctx.database.db
          .updateTable('messages')
          .set({ text: 'goodbye world' })
          .where('chat_id', '=', chat)
          .where('text', '=', 'hello world')
          .execute();
        expect(await counts(chat)).to.deep.equal({ a: 1, 'a.b': 1, b: 1, goodbye: 1, hello: 1, world: 1 });
        // An update that keeps the text (a reply bumps its root's reply_count) counts nothing again.
        await ctx.database.db
          .updateTable('messages')
          .set({ edited_at: new Date() })
          .where('chat_id', '=', chat)
          .execute();
        expect(await counts(chat)).to.deep.equal({ a: 1, 'a.b': 1, b: 1, goodbye: 1, hello: 1, world: 1 });
        await ctx.database.db
          .deleteFrom('messages')
          .where('chat_id', '=', chat)
          .where('text', '=', 'hello a.b')
          .execute();
        expect(await counts(chat)).to.deep.equal({ goodbye: 1, world: 1 });
        expect(user).to.be.a('string');
      });

      it('goes with its chat when the chat is deleted', async () => {
        const { chat } = await userWith('hello world');
        await ctx.database.db.deleteFrom('chats').where('id', '=', chat).execute();
        const { rows } = await sql`select 1 from search_chat_words where chat_id = ${chat}`.execute(
          ctx.database.db,
        );
        expect(rows).to.have.length(0);
      });
    });
  });
});
