import { useRef, useState } from 'preact/hooks';
import { api, type Chat, data, problem, type SearchHit } from './api.ts';

/** How often the task's status is polled, and for how long at most. */
const POLL_MS = 250;
const POLL_FOR_MS = 20_000;

interface Props {
  chats: Chat[];
  onOpen: (chatId: string, messageId: string) => void;
}

/**
 * Search across the person's chats. The API runs a search as a task: start it, poll its status until
 * it is done, then read its results (newest first, with where the phrase matched).
 */
export function Search({ chats, onOpen }: Props) {
  const [phrase, setPhrase] = useState('');
  const [results, setResults] = useState<SearchHit[]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);
  /** Only the latest search may show its results. */
  const latest = useRef(0);

  async function search() {
    const run = ++latest.current;
    setBusy(true);
    setError('');
    try {
      const { task_id } = data(await api.POST('/v1/chats/search', { body: { message: phrase } }));
      const path = { task_id };
      for (const deadline = Date.now() + POLL_FOR_MS; ;) {
        const status = data(await api.GET('/v1/chats/search/status/{task_id}', { params: { path } }));
        if (status.status === 'FAILED') throw new Error(status.reason ?? 'The search failed');
        if (status.status === 'SUCCESS') break;
        if (Date.now() > deadline) throw new Error('The search is taking too long; try again later.');
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      const page = data(
        await api.GET('/v1/chats/search/{task_id}/messages', { params: { path, query: { limit: 100 } } }),
      );
      if (run === latest.current) setResults(page.messages);
    } catch (err) {
      if (run === latest.current) {
        setResults(undefined);
        setError(problem(err));
      }
    } finally {
      if (run === latest.current) setBusy(false);
    }
  }

  function close() {
    latest.current++;
    setResults(undefined);
    setError('');
    setBusy(false);
    input.current?.focus();
  }

  const nameOf = (chatId: string) => chats.find((c) => c.chat_id === chatId)?.chat_name ?? 'a chat';
  const open = results !== undefined || error !== '' || busy;
  return (
    <div
      class="search"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          e.preventDefault();
          close();
        }
      }}
    >
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <input
          ref={input}
          data-testid="search-input"
          type="search"
          aria-label="Search your chats (Enter searches, Escape closes)"
          placeholder="Search messages"
          value={phrase}
          onInput={(e) => setPhrase(e.currentTarget.value)}
        />
      </form>
      {open && (
        <div class="search-results" aria-label="Search results">
          {busy && <p role="status">Searching…</p>}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          {results?.length === 0 && <p role="status">Nothing found.</p>}
          {results && results.length > 0 && (
            <ul>
              {results.map((hit) => (
                <li key={hit.message_id}>
                  <button
                    type="button"
                    data-testid="search-result"
                    data-chat-id={hit.chat_id}
                    data-message-id={hit.message_id}
                    onClick={() => {
                      close();
                      onOpen(hit.chat_id, hit.message_id);
                    }}
                  >
                    <span class="hit-where">
                      {nameOf(hit.chat_id)} · {hit.user_name ?? 'deleted user'} ·{' '}
                      <time dateTime={hit.created_at}>{new Date(hit.created_at).toLocaleString()}</time>
                    </span>
                    <span class="hit-text">{highlighted(hit)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

/** The text with each matched range in a <mark>; the offsets are the API's (characters, end exclusive). */
function highlighted(hit: SearchHit) {
  const parts = [];
  let at = 0;
  const ranges = [...hit.highlights].sort((a, b) => a.start - b.start);
  for (const { start, end } of ranges) {
    if (start < at || end <= start) continue;
    if (start > at) parts.push(hit.text.slice(at, start));
    parts.push(<mark key={start}>{hit.text.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(hit.text.slice(at));
  return parts;
}
