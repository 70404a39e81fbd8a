/**
 * The highlight arithmetic of the search, without a database: reading ts_headline's marks back as
 * offsets, and joining the ranges of its three configurations. The highlights of real searches are
 * tested in search.repository.test.ts.
 */
import { expect } from 'chai';
import {
  markedRanges,
  mergeRanges,
  START_MARK as S,
  STOP_MARK as E,
} from '../src/search/search-highlights.ts';

describe('search highlights', () => {
  describe('markedRanges', () => {
    it('answers the marked words as offsets into the text without its marks', () => {
      const text = 'Hello, world!';
      expect(markedRanges(`${S}Hello${E}, ${S}world${E}!`, text.length)).to.deep.equal([
        [0, 5],
        [7, 12],
      ]);
    });

    it('counts in UTF-16 code units, as JavaScript indexes strings', () => {
      const text = '😀 hi';
      const ranges = markedRanges(`😀 ${S}hi${E}`, text.length);
      expect(ranges).to.deep.equal([[3, 5]]);
      expect(text.slice(3, 5)).to.equal('hi');
    });

    it('answers nothing for a text without marks, and skips empty marks and a stop without a start', () => {
      expect(markedRanges('plain text', 10)).to.deep.equal([]);
      expect(markedRanges(`${S}${E}abc`, 3)).to.deep.equal([]);
      expect(markedRanges(`ab${E}c ${S}d${E}`, 5)).to.deep.equal([[4, 5]]);
    });

    it('answers nothing when the marked text is not the text (ts_headline changed it)', () => {
      expect(markedRanges(`${S}hello${E} world`, 12)).to.deep.equal([]);
      expect(markedRanges(`${S}hello${E}`, 4)).to.deep.equal([]);
    });
  });

  describe('mergeRanges', () => {
    it('sorts the ranges and keeps separate words separate', () => {
      expect(
        mergeRanges('one two three', [
          [8, 13],
          [0, 3],
          [4, 7],
        ]),
      ).to.deep.equal([
        { start: 0, end: 3 },
        { start: 4, end: 7 },
        { start: 8, end: 13 },
      ]);
    });

    it('joins ranges that overlap, touch, or repeat (several configurations mark one word)', () => {
      expect(
        mergeRanges('messages here', [
          [0, 8],
          [0, 7],
          [0, 8],
          [8, 8],
          [9, 13],
          [10, 13],
        ]),
      ).to.deep.equal([
        { start: 0, end: 8 },
        { start: 9, end: 13 },
      ]);
    });

    it('joins the parts of a hyphenated word, but not words a space or other punctuation separates', () => {
      expect(
        mergeRanges('an e-mail', [
          [3, 4],
          [5, 9],
        ]),
      ).to.deep.equal([{ start: 3, end: 9 }]);
      expect(
        mergeRanges('state--of-art', [
          [0, 5],
          [7, 9],
          [10, 13],
        ]),
      ).to.deep.equal([{ start: 0, end: 13 }]);
      expect(
        mergeRanges('e - mail e.mail', [
          [0, 1],
          [4, 8],
          [9, 10],
          [11, 15],
        ]),
      ).to.have.length(4);
    });

    it('answers nothing for no ranges', () => {
      expect(mergeRanges('text', [])).to.deep.equal([]);
    });
  });
});
