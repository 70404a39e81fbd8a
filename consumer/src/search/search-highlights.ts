/**
 * Highlight arithmetic: ts_headline marks the matching words of a message with two control
 * characters; these functions turn its output into offsets into the original text and join the
 * ranges of the three configurations. Pure: tested on its own (consumer/test/search-highlights.test.ts).
 */

/** ts_headline marks matches with these; any in the text itself are blanked before it runs. */
export const START_MARK = '\u0001';
export const STOP_MARK = '\u0002';
export const HEADLINE_OPTIONS = `HighlightAll=true, StartSel=${START_MARK}, StopSel=${STOP_MARK}`;

/**
 * The ranges ts_headline marked, as offsets into the original text. It reproduces the text with
 * marks around the matching words; anything else (a text it changed) gives no ranges.
 */
export function markedRanges(marked: string, textLength: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let at = 0;
  let start = -1;
  for (let i = 0; i < marked.length; i++) {
    const c = marked[i];
    if (c === START_MARK) start = at;
    else if (c === STOP_MARK) {
      if (start >= 0 && at > start) ranges.push([start, at]);
      start = -1;
    } else at++;
  }
  return at === textLength ? ranges : [];
}

/**
 * Sorts and joins the ranges of all configurations. Ranges that overlap or touch become one, and
 * so do ranges that only hyphens separate: ts_headline marks "e-mail" as "e" and "mail".
 */
export function mergeRanges(
  text: string,
  ranges: Array<[number, number]>,
): Array<{ start: number; end: number }> {
  const merged: Array<{ start: number; end: number }> = [];
  for (const [start, end] of ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const last = merged[merged.length - 1];
    if (last && (start <= last.end || /^-+$/.test(text.slice(last.end, start)))) {
      last.end = Math.max(last.end, end);
    } else {
      merged.push({ start, end });
    }
  }
  return merged;
}
