import { AppError } from '@messenger/shared';

/** At most this many distinct emoji on one message (openapi.yaml, addReaction). */
export const MAX_DISTINCT_REACTIONS = 20;

/** `:thumbsup:`, `:+1:`: a short name, kept as it is (never translated to an emoji). */
const SHORT_NAME = /^:[a-z0-9_+-]{1,32}:$/;

/**
 * Code points an emoji grapheme may be made of: emoji, their components (skin tones, regional
 * indicators, keycap digits), the zero-width joiner, the emoji variation selector and tag
 * characters (subdivision flags). Letters with combining marks are graphemes too, but not emoji.
 */
const EMOJI_PARTS = /^(?:\p{Emoji}|\p{Emoji_Component}|\u200D|\uFE0F|\u20E3|[\u{E0020}-\u{E007F}])+$/u;
/** At least one part must be an emoji by itself: `1` and `#` are `\p{Emoji}` but are not one. */
const EMOJI_CORE = /\p{Extended_Pictographic}|\p{Emoji_Presentation}|\p{Regional_Indicator}|\u20E3/u;
/** A lone emoji that defaults to text presentation (`❤`), with or without its selector. */
const LONE_TEXT_DEFAULT = /^(\p{Extended_Pictographic})\uFE0F?$/u;
const LONE_EMOJI_DEFAULT = /^\p{Emoji_Presentation}$/u;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * The reaction as stored and shown: one emoji grapheme in a canonical form, or a short name. A lone
 * emoji of text presentation gets U+FE0F and one of emoji presentation loses it, so that `❤`/`❤️`
 * and `👍`/`👍️` are one reaction each. Anything else is 400 `bad-parameters`.
 */
export function canonicalEmoji(raw: string): string {
  if (SHORT_NAME.test(raw)) return raw;
  const segments = [...graphemes.segment(raw)];
  if (segments.length !== 1 || !EMOJI_PARTS.test(raw) || !EMOJI_CORE.test(raw)) {
    throw new AppError(
      'bad-parameters',
      'path parameter "emoji" must be one emoji or a short name such as :thumbsup: (a-z, 0-9, _ + -)',
    );
  }
  const lone = LONE_TEXT_DEFAULT.exec(raw);
  if (lone) {
    const base = lone[1]!;
    return LONE_EMOJI_DEFAULT.test(base) ? base : `${base}\uFE0F`;
  }
  return raw;
}
