/**
 * SearchRepository, what a phrase finds: word forms in English and Russian, prefixes, hyphenated
 * words, e-mail addresses and URLs, case, typos, stop words, and hostile phrases. On PGlite (always)
 * and PostgreSQL (TEST_POSTGRES_URL); see support/search-context.ts.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { describeSearch, range, texts } from './support/search-context.ts';

describeSearch((ctx) => {
  const { userWith, search } = ctx;

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

    it('finds every completion of a prefix, its most frequent ones first', async () => {
      const { user, chat } = await userWith();
      // 300 distinct tokens starting with "qwz": more than a prefix is first narrowed by; "qwz42"
      // in three messages, the oldest ones, is the most frequent.
      await sql`
        insert into messages (chat_id, seq, user_id, text, created_at)
        select ${chat}, 1000 + g, ${user}, 'qwz' || greatest(g, 42) || ' note', now() + make_interval(secs => g)
        from generate_series(40, 300) g
      `.execute(ctx.database.db);
      expect(await search(user, 'qwz', 1000)).to.have.length(261);
      // The 16 most frequent completions first (qwz42, then by code point qwz100…qwz114): 18
      // messages, the three oldest among them, before any newer message of a rarer completion.
      const first = texts(await search(user, 'qwz note', 18));
      expect(first.filter((t) => t === 'qwz42 note')).to.have.length(3);
      expect(first).to.not.include('qwz300 note');
      expect(texts(await search(user, 'qwz note', 19))).to.include('qwz300 note');
      expect(texts(await search(user, 'qwz17'))).to.have.members(range(170, 180).map((n) => `qwz${n} note`));
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
        const outcome = await ctx.repo.search({
          userId: user,
          phrase,
          limit: 10,
          deadline: Date.now() + 30_000,
        });
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
        await ctx.repo.search({ userId: user, phrase, limit: 10, deadline: Date.now() + 30_000 });
      }
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from messages`.execute(
        ctx.database.db,
      );
      expect(rows[0]?.n).to.be.above(0);
    });
  });
});
