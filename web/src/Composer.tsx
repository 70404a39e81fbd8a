import { useRef, useState } from 'preact/hooks';
import { api } from './api.ts';

/** A message on its way: shown as pending until the API's 201, with a retry when it failed. */
export interface Pending {
  /** Its Idempotency-Key: every retry sends the same one, so the API stores it at most once. */
  key: string;
  text: string;
  /** Why the last attempt failed; undefined while it is being sent. */
  failed?: string;
}

/** A key per message. `crypto.randomUUID` exists only in secure contexts (not plain http on a LAN). */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Typing events are sent at most this often while the person types (the API drops closer repeats). */
const TYPING_EVERY_MS = 2500;

interface Props {
  chatId: string | undefined;
  autoFocus: boolean;
  onSend: (item: Pending) => void;
}

/** The message box: Enter sends, Shift+Enter is a new line; typing tells the others. */
export function Composer({ chatId, autoFocus, onSend }: Props) {
  const [text, setText] = useState('');
  const lastTyping = useRef(0);

  function submit() {
    if (text.trim() === '') return;
    onSend({ key: newKey(), text });
    setText('');
    lastTyping.current = 0;
  }

  function typed(value: string) {
    setText(value);
    const now = Date.now();
    if (chatId && value.trim() !== '' && now - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = now;
      // A lost typing event costs nothing: errors are ignored.
      void api.POST('/v1/chats/{chat_id}/typing', { params: { path: { chat_id: chatId } } }).catch(() => {});
    }
  }

  return (
    <form
      class="composer row"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <textarea
        data-testid="composer"
        aria-label="Message (Enter sends, Shift+Enter for a new line)"
        placeholder="Message (Enter sends, Shift+Enter for a new line)"
        rows={2}
        value={text}
        ref={(el) => {
          if (autoFocus && el && !el.dataset.focused) {
            el.dataset.focused = '1';
            el.focus();
          }
        }}
        onInput={(e) => typed(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
      />
      <button data-testid="send" type="submit">
        Send
      </button>
    </form>
  );
}

/** A message not yet acknowledged: "Sending…", or why it failed and a button to try again. */
export function PendingItem({ item, onRetry }: { item: Pending; onRetry: () => void }) {
  return (
    <li data-testid="message-pending" class={item.failed ? 'message pending failed' : 'message pending'}>
      <span class="text">{item.text}</span>
      {item.failed === undefined ? (
        <span class="status">Sending…</span>
      ) : (
        <span class="status" role="alert">
          Not sent: {item.failed}{' '}
          <button data-testid="retry" type="button" class="link-button" onClick={onRetry}>
            Retry
          </button>
        </span>
      )}
    </li>
  );
}
