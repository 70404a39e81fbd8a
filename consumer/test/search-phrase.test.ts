/**
 * The phrase parser of the search, without a database: how a phrase splits into terms, how each is
 * quoted, and which terms match as prefixes and may be corrected. What the query then finds with
 * them is in search.matching.test.ts.
 */
import { expect } from 'chai';
import {
  fuzzyWord,
  MAX_TERMS,
  parsePhrase,
  phraseOperands,
  quoteOperand,
  trigramFloor,
} from '../src/search/search-phrase.ts';

const words = (phrase: string): string[] => parsePhrase(phrase).map((t) => t.word);

/** pg_trgm's similarity, as its documentation defines it: distinct trigrams of "  word ", shared / union. */
function similarity(a: string, b: string): number {
  const trigrams = (word: string): Set<string> => {
    const padded = `  ${word} `;
    const set = new Set<string>();
    for (let i = 0; i + 3 <= padded.length; i++) set.add(padded.slice(i, i + 3));
    return set;
  };
  const [ta, tb] = [trigrams(a), trigrams(b)];
  const shared = [...ta].filter((t) => tb.has(t)).length;
  return shared / (ta.size + tb.size - shared);
}

/**
 * Words one edit away from `word` as the OSA distance counts edits (a deletion, an insertion, a
 * substitution, a swap of two neighbouring letters), inserting and substituting a few letters only.
 */
function oneEditFrom(word: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i <= word.length; i++) {
    if (i < word.length) out.add(word.slice(0, i) + word.slice(i + 1));
    for (const c of 'aez') {
      out.add(word.slice(0, i) + c + word.slice(i));
      if (i < word.length) out.add(word.slice(0, i) + c + word.slice(i + 1));
    }
    if (i + 1 < word.length) out.add(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
  }
  out.delete(word);
  return [...out];
}

describe('search phrase', () => {
  describe('parsePhrase', () => {
    it('splits at any white space and at NUL, keeping each word as typed', () => {
      expect(words(' Hello\tworld\n\r\nfoo\u0000bar  ')).to.deep.equal(['Hello', 'world', 'foo', 'bar']);
    });

    it('drops words without a letter or a digit', () => {
      expect(words('!!! *** hello ... 42 -')).to.deep.equal(['hello', '42']);
      expect(parsePhrase('')).to.deep.equal([]);
      expect(parsePhrase(' \t\u0000 ')).to.deep.equal([]);
    });

    it('keeps the first spelling of a word repeated in another case', () => {
      expect(words('Hello hello HELLO world')).to.deep.equal(['Hello', 'world']);
    });

    it(`keeps at most ${MAX_TERMS} words`, () => {
      const phrase = Array.from({ length: MAX_TERMS + 8 }, (_, i) => `w${i}`).join(' ');
      const terms = words(phrase);
      expect(terms).to.have.length(MAX_TERMS);
      expect(terms.at(-1)).to.equal(`w${MAX_TERMS - 1}`);
    });

    it('quotes each word as one operand, whatever tsquery syntax it holds', () => {
      expect(parsePhrase("it's a:*A (b|c)").map((t) => t.operand)).to.deep.equal([
        "'it''s'",
        "'a:*A'",
        "'(b|c)'",
      ]);
    });

    it('matches words of 3 or more letters and digits as prefixes, not counting the punctuation around them', () => {
      const prefix = (word: string): boolean | undefined => parsePhrase(word)[0]?.prefix;
      expect(prefix('ab')).to.equal(false);
      expect(prefix('abc')).to.equal(true);
      expect(prefix('12')).to.equal(false);
      expect(prefix('123')).to.equal(true);
      expect(prefix('(ab)')).to.equal(false);
      expect(prefix('"ab",')).to.equal(false);
      expect(prefix('a-b-c')).to.equal(true);
    });

    it('offers words of letters only for correction, lowercased and without the punctuation around them', () => {
      const fuzzy = (word: string) => parsePhrase(word)[0]?.fuzzy;
      expect(fuzzy('Hello,')).to.include({ word: 'hello', length: 5, maxEdits: 2 });
      expect(fuzzy('(Сообщение)')).to.include({ word: 'сообщение', length: 9, maxEdits: 2 });
      expect(fuzzy('hello1')).to.equal(undefined);
      expect(fuzzy('e-mail')).to.equal(undefined);
      expect(fuzzy('bob@example.com')).to.equal(undefined);
      expect(fuzzy('cat')).to.equal(undefined);
    });
  });

  describe('quoteOperand', () => {
    it('doubles single quotes and escapes backslashes, leaving everything else as it is', () => {
      expect(quoteOperand('plain')).to.equal("'plain'");
      expect(quoteOperand("it's")).to.equal("'it''s'");
      expect(quoteOperand('back\\slash')).to.equal("'back\\\\slash'");
      expect(quoteOperand("\\'")).to.equal("'\\\\'''");
      expect(quoteOperand('a & b | !c')).to.equal("'a & b | !c'");
    });
  });

  describe('fuzzyWord', () => {
    it('corrects words of 4 letters by 1 edit and longer ones by 2, up to 32 letters', () => {
      expect(fuzzyWord('abc')).to.equal(undefined);
      expect(fuzzyWord('helo')).to.include({ length: 4, maxEdits: 1 });
      expect(fuzzyWord('hello')).to.include({ length: 5, maxEdits: 2 });
      expect(fuzzyWord('a'.repeat(32))).to.include({ length: 32, maxEdits: 2 });
      expect(fuzzyWord('a'.repeat(33))).to.equal(undefined);
    });

    it('counts characters as code points, as char_length does', () => {
      // Four letters outside the Basic Multilingual Plane: eight UTF-16 code units.
      const word = '\u{1D4B6}\u{1D4B7}\u{1D4B8}\u{1D4B9}';
      expect(word.length).to.equal(8);
      expect(fuzzyWord(word)).to.include({ length: 4, maxEdits: 1 });
    });

    it('sets a trigram floor for long ASCII words only', () => {
      expect(fuzzyWord('international')?.trigramFloor).to.be.a('number');
      expect(fuzzyWord('hello')?.trigramFloor).to.equal(undefined);
      expect(fuzzyWord('международный')?.trigramFloor).to.equal(undefined);
    });
  });

  describe('phraseOperands', () => {
    it('keeps the words in order, repeats and stop words included, each quoted', () => {
      expect(phraseOperands('To be, or not to be')).to.deep.equal([
        "'To'",
        "'be,'",
        "'or'",
        "'not'",
        "'to'",
        "'be'",
      ]);
      expect(phraseOperands("it's a\u0000test !!! 42")).to.deep.equal(["'it''s'", "'a'", "'test'", "'42'"]);
    });

    it('keeps at most MAX_TERMS words', () => {
      expect(phraseOperands(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '))).to.have.length(
        MAX_TERMS,
      );
    });
  });

  describe('trigramFloor', () => {
    it('answers the bound (|A| - 4k) / (n + 5k + 1), a little under it: a swap changes 4 trigrams', () => {
      // "  international " has 14 distinct trigrams: (14 - 8) / (13 + 11) = 0.25
      expect(trigramFloor('international', 2)).to.be.closeTo(0.249, 1e-9);
      // "  conversation " has 13: (13 - 8) / (12 + 11) = 0.2173…
      expect(trigramFloor('conversation', 2)).to.be.closeTo(0.216, 1e-9);
      // "  zeppelin " has 9: (9 - 4) / (8 + 6) = 0.3571…
      expect(trigramFloor('zeppelin', 1)).to.be.closeTo(0.356, 1e-9);
    });

    it('answers undefined when the floor is too low to narrow the lookup', () => {
      expect(trigramFloor('hello', 2)).to.equal(undefined); // (6 - 8) / 16 < 0
      expect(trigramFloor('zeppelin', 2)).to.equal(undefined); // (9 - 8) / 19 = 0.05
      expect(trigramFloor('aaaa', 1)).to.equal(undefined); // 4 distinct trigrams: (4 - 4) / 10
    });

    it('keeps every word within the edits (swaps included) at or above the floor', () => {
      for (const word of ['international', 'conversation', 'relationships', 'documentation']) {
        const floor = trigramFloor(word, 2);
        expect(floor, word).to.be.a('number');
        const oneEdit = oneEditFrom(word);
        const twoEdits = oneEdit.flatMap((w) => oneEditFrom(w));
        for (const near of [...oneEdit, ...twoEdits]) {
          expect(similarity(word, near), `${word} ~ ${near}`).to.be.at.least(floor as number);
        }
      }
    });
  });
});
