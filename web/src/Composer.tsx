import { useRef, useState } from 'preact/hooks';
import { api, type Attachment } from './api.ts';

/** A message on its way: shown as pending until the API's 201, with a retry when it failed. */
export interface Pending {
  /** Its Idempotency-Key: every retry sends the same one, so the API stores it at most once. */
  key: string;
  text: string;
  attachments?: Attachment[];
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
  const [attaching, setAttaching] = useState(false);
  const [url, setUrl] = useState('');
  const [title, setTitle] = useState('');
  const [error, setError] = useState('');
  const lastTyping = useRef(0);

  async function submit() {
    setError('');
    let attachments: Attachment[] | undefined;
    if (attaching && url.trim() !== '') {
      try {
        attachments = [await attachmentOf(url.trim(), title.trim())];
      } catch (err) {
        setError(err instanceof Error ? err.message : String(err));
        return;
      }
    }
    if (text.trim() === '' && !attachments) return;
    onSend({ key: newKey(), text, attachments });
    setText('');
    setUrl('');
    setTitle('');
    setAttaching(false);
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
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {attaching && (
        <div
          class="row"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setAttaching(false);
          }}
        >
          <input
            data-testid="attach-url"
            type="url"
            aria-label="Attach an image or a link by its URL (Escape removes it)"
            placeholder="https://… (an image or a link)"
            value={url}
            ref={(el) => {
              if (el && !el.dataset.focused) {
                el.dataset.focused = '1';
                el.focus();
              }
            }}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
          <input
            data-testid="attach-title"
            aria-label="The link's title (optional)"
            placeholder="Title (links)"
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="row">
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
              void submit();
            }
          }}
        />
        {chatId && (
          <button
            data-testid="attach-toggle"
            type="button"
            class="secondary"
            aria-expanded={attaching}
            aria-label="Attach an image or a link"
            onClick={() => setAttaching(!attaching)}
          >
            +
          </button>
        )}
        <button data-testid="send" type="submit">
          Send
        </button>
      </div>
    </form>
  );
}

/** URLs that name a picture by their ending: attached as an image, anything else as a link. */
const IMAGE_URL = /\.(png|jpe?g|gif|webp|avif|svg)([?#].*)?$/i;

/**
 * The attachment a URL makes. An image needs its size (the API asks for it, so others can lay the
 * message out before it loads): the browser loads it once to learn it.
 */
async function attachmentOf(url: string, title: string): Promise<Attachment> {
  if (!/^https?:\/\/\S+$/.test(url)) throw new Error('An attachment is an http:// or https:// URL.');
  if (!IMAGE_URL.test(url)) return title ? { type: 'link', url, title } : { type: 'link', url };
  const image = new Image();
  image.referrerPolicy = 'no-referrer';
  await new Promise<void>((resolve, reject) => {
    image.onload = () => resolve();
    image.onerror = () => reject(new Error('That image could not be loaded.'));
    image.src = url;
  });
  return { type: 'image', url, width: image.naturalWidth || 1, height: image.naturalHeight || 1 };
}

/** A message not yet acknowledged: "Sending…", or why it failed and a button to try again. */
export function PendingItem({ item, onRetry }: { item: Pending; onRetry: () => void }) {
  return (
    <li data-testid="message-pending" class={item.failed ? 'message pending failed' : 'message pending'}>
      <span class="text">
        {item.text}
        {item.attachments && ` (+${item.attachments.length} attachment)`}
      </span>
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
