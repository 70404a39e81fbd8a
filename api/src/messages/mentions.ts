/** At most this many `@names` of one message are looked up: a text of 10000 `@a` mentions no more. */
export const MAX_MENTION_CANDIDATES = 50;

/**
 * `@name` where the `@` starts a word (so `bob@example.com` mentions no one), up to the next space
 * or `@`. User names may hold almost anything (openapi.yaml, UserName); a name with spaces cannot be
 * mentioned.
 */
const MENTION = /(?<![\p{L}\p{N}_])@([^\s@]+)/gu;
/** What often follows a name in a sentence: `@bob,` `@bob!` `(@bob)`. */
const TRAILING_PUNCTUATION = /[\p{P}\p{S}]+$/u;

/**
 * The names a text may mention, in order of first appearance: each `@token` as written and, when
 * it ends in punctuation, without it (a name may itself end in punctuation, so both are tried).
 * The database resolves them against the chat's members the way user names are compared (NFKC,
 * trimmed, case-insensitive: migration 0007's name_key).
 */
export function mentionCandidates(text: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (name: string) => {
    if (name !== '' && !seen.has(name) && found.length < MAX_MENTION_CANDIDATES) {
      seen.add(name);
      found.push(name);
    }
  };
  for (const match of text.matchAll(MENTION)) {
    const token = match[1]!;
    add(token);
    add(token.replace(TRAILING_PUNCTUATION, ''));
    if (found.length >= MAX_MENTION_CANDIDATES) break;
  }
  return found;
}
