// How a chat's shown messages change: pure functions (no DOM, no API), so they are tested on their own
// (api/test/web/merge.test.ts). Every one keeps each message id at most once.
// (The type comes from the generated contract, not api.ts, which needs a browser to load.)
import type { components } from '../../api/src/generated/openapi.ts';

type Message = components['schemas']['Message'];

/**
 * `shown` with `message` in it: replaced where it is (an edit, or the event of a message this page
 * already showed), else added at the end (it is the newest). So an event seen twice, or a message
 * that came both in a page and as an event, shows once.
 */
export function upsert(shown: Message[], message: Message): Message[] {
  const at = shown.findIndex((m) => m.message_id === message.message_id);
  if (at < 0) return [...shown, message];
  const next = [...shown];
  next[at] = message;
  return next;
}

/** `older` before `shown`, without any message already shown. */
export function prepend(shown: Message[], older: Message[]): Message[] {
  const ids = new Set(shown.map((m) => m.message_id));
  return [...older.filter((m) => !ids.has(m.message_id)), ...shown];
}

/**
 * A freshly read run of history, and what changed live while it loaded: messages created or edited
 * (newer than the run's end, or already in it: the live version wins) and deleted (gone even if the
 * run still had them).
 */
export function mergeLoaded(loaded: Message[], live: Message[], deleted: ReadonlySet<string>): Message[] {
  let merged = loaded;
  for (const message of live) merged = upsert(merged, message);
  return merged.filter((m) => !deleted.has(m.message_id));
}
