import { api, data, type Message } from './api.ts';

/** Messages per history page: enough to fill a tall screen, small enough to load at once. */
export const PAGE_SIZE = 50;
/** How far back opening a chat at a message (a search result) pages before it gives up. */
const MAX_PAGES_TO_FIND = 40;
/** Larger pages while looking for a message: fewer round trips. */
const FIND_PAGE_SIZE = 200;

/** A run of a chat's history, oldest first, and the iterator of the page before it (if any). */
export interface Loaded {
  messages: Message[];
  older: string | undefined;
  /** Whether the message looked for is among `messages`. */
  found: boolean;
}

/**
 * Reads the chat's history newest first (keyset `from`), page by page, until `until` is among the
 * messages read (or there is no `until`: one page). Answers them oldest first, with the iterator that
 * continues into older messages.
 */
export async function loadNewest(chatId: string, until?: string): Promise<Loaded> {
  const messages: Message[] = [];
  let from: string | undefined;
  let found = until === undefined;
  for (let pages = 0; pages < (until ? MAX_PAGES_TO_FIND : 1); pages++) {
    const page = data(
      await api.GET('/v1/chats/{chat_id}/messages', {
        params: {
          path: { chat_id: chatId },
          query: { order: 'desc', limit: until ? FIND_PAGE_SIZE : PAGE_SIZE, from },
        },
      }),
    );
    messages.push(...page.messages);
    from = page.next?.iterator;
    if (until && page.messages.some((m) => m.message_id === until)) found = true;
    if (found || !from) break;
  }
  return { messages: messages.reverse(), older: from, found };
}

/** The page before `from`, oldest first. */
export async function loadOlder(chatId: string, from: string): Promise<Omit<Loaded, 'found'>> {
  const page = data(
    await api.GET('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id: chatId }, query: { order: 'desc', limit: PAGE_SIZE, from } },
    }),
  );
  return { messages: [...page.messages].reverse(), older: page.next?.iterator };
}
