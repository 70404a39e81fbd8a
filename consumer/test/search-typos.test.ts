/**
 * The typo arithmetic of the search, without a database: the OSA distance (a swap of two
 * neighbouring letters is one edit) and how corrections are chosen among candidates. What the
 * query then finds with them is in search.relevance.test.ts.
 */
import { expect } from 'chai';
import {
  chooseCorrections,
  endsKept,
  MAX_CORRECTIONS,
  osaDistance,
  type Candidate,
} from '../src/search/search-typos.ts';

describe('search typos', () => {
  describe('osaDistance', () => {
    it('counts a swap of two neighbouring letters as one edit', () => {
      expect(osaDistance('wrold', 'world', 2)).to.equal(1);
      expect(osaDistance('tikcet', 'ticket', 2)).to.equal(1);
      expect(osaDistance('ab', 'ba', 2)).to.equal(1);
    });

    it('counts the typos of issue 14 as two edits: two swaps, or a swap and another edit', () => {
      expect(osaDistance('bneeflt', 'benefit', 2)).to.equal(2); // b(ne→en)(ef)… two swaps
      expect(osaDistance('млоось', 'молюсь', 2)).to.equal(2); // swap ло→ол, о→ю
      expect(osaDistance('tivet', 'ticket', 2)).to.equal(2); // v→c, insert k
      expect(osaDistance('conuks', 'chunks', 2)).to.equal(2); // o→h, swap nu→un
    });

    it('counts insertions, deletions and substitutions as levenshtein does', () => {
      expect(osaDistance('helo', 'hello', 2)).to.equal(1);
      expect(osaDistance('hello', 'helo', 2)).to.equal(1);
      expect(osaDistance('hallo', 'hello', 2)).to.equal(1);
      expect(osaDistance('same', 'same', 2)).to.equal(0);
      expect(osaDistance('', 'abc', 3)).to.equal(3);
    });

    it('does not edit a substring twice (OSA, not unrestricted Damerau): "ca" to "abc" is 3', () => {
      expect(osaDistance('ca', 'abc', 3)).to.equal(3);
    });

    it('answers max + 1 as soon as the distance must pass max', () => {
      expect(osaDistance('wxrxx', 'world', 2)).to.equal(3);
      expect(osaDistance('a', 'abcdef', 2)).to.equal(3); // lengths alone rule it out
      expect(osaDistance('international', 'xxxxxxxxxxxxx', 2)).to.equal(3);
    });

    it('counts code points, not UTF-16 units', () => {
      expect(osaDistance('\u{1D4B6}\u{1D4B7}', '\u{1D4B7}\u{1D4B6}', 2)).to.equal(1);
    });
  });

  describe('endsKept', () => {
    it('counts the letters shared at the beginning and at the end', () => {
      expect(endsKept('tivet', 'ticket')).to.equal(4); // ti…et
      expect(endsKept('tivet', 'lives')).to.equal(0);
      expect(endsKept('tivet', 'tired')).to.equal(2);
    });

    it('never counts a letter twice', () => {
      expect(endsKept('aaa', 'aaaa')).to.equal(3);
      expect(endsKept('same', 'same')).to.equal(4);
    });
  });

  describe('chooseCorrections', () => {
    const c = (word: string, distance: number, frequency: number): Candidate => ({
      word,
      distance,
      frequency,
    });
    const words = (typed: string, candidates: Candidate[]) =>
      chooseCorrections(typed, candidates).map((x) => x.word);

    it('keeps only words the caller has', () => {
      expect(words('helo', [c('hello', 1, 0), c('help', 1, 0)])).to.deep.equal([]);
      expect(words('helo', [c('hello', 1, 0), c('help', 1, 3)])).to.deep.equal(['help']);
    });

    it('prefers the nearest: one edit beats two, however frequent', () => {
      expect(words('wrold', [c('world', 1, 1), c('would', 2, 500)])).to.deep.equal(['world']);
    });

    it('then the likeliest: the ends the typist kept outweigh a common word ("tivet" is ticket)', () => {
      const candidates = [c('lives', 2, 20), c('river', 2, 10), c('ticket', 2, 8), c('tired', 2, 5)];
      // ticket: 8 × 2^4 = 128; lives 20, river 10, tired 5 × 2^2 = 20.
      expect(words('tivet', candidates)).to.deep.equal(['ticket']);
    });

    it('keeps rivals at least half as likely as the best, at most MAX_CORRECTIONS', () => {
      const candidates = ['aaaab', 'aaaac', 'aaaad', 'aaaae', 'aaaaf'].map((w) => c(w, 1, 10));
      expect(MAX_CORRECTIONS).to.equal(3);
      expect(words('aaaax', candidates)).to.deep.equal(['aaaab', 'aaaac', 'aaaad']);
      expect(words('aaaax', [c('aaaab', 1, 10), c('aaaac', 1, 5), c('aaaad', 1, 4)])).to.deep.equal([
        'aaaab',
        'aaaac',
      ]);
    });

    it('orders the kept ones likeliest first, ties by word', () => {
      expect(words('aaaax', [c('aaaac', 1, 6), c('aaaab', 1, 6), c('aaaad', 1, 8)])).to.deep.equal([
        'aaaad',
        'aaaab',
        'aaaac',
      ]);
    });
  });
});
