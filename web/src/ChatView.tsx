import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Chat, data, type Message, problem } from './api.ts';

interface Props {
  chat: Chat;
  messages: Message[];
}

/** A new key for each new text: a retry of the same text reuses it, so it cannot post twice. */
function newKey(): string {
  return crypto.randomUUID();
}

/** One chat: its messages (live, from the App's event stream), adding a member, and the composer. */
export function ChatView({ chat, messages }: Props) {
  const [text, setText] = useState('');
  const [key, setKey] = useState(newKey);
  const [member, setMember] = useState('');
  const [error, setError] = useState('');
  const [sending, setSending] = useState(false);
  const list = useRef<HTMLOListElement>(null);

  // The newest message in view: follow the conversation as it grows.
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [messages.length]);

  async function send() {
    if (text.trim() === '' || sending) return;
    setSending(true);
    setError('');
    try {
      data(
        await api.POST('/v1/chats/{chat_id}/messages', {
          params: { path: { chat_id: chat.chat_id }, header: { 'Idempotency-Key': key } },
          body: { message: text },
        }),
      );
      setText('');
      setKey(newKey());
    } catch (err) {
      // The text and its key stay: sending again is a retry the API answers at most once.
      setError(problem(err));
    } finally {
      setSending(false);
    }
  }

  async function addMember() {
    setError('');
    try {
      data(
        await api.POST('/v1/chats/{chat_id}/users', {
          params: { path: { chat_id: chat.chat_id } },
          body: { user_name: member },
        }),
      );
      setMember('');
    } catch (err) {
      setError(problem(err));
    }
  }

  return (
    <section class="chat-view">
      <header>
        <h2>{chat.chat_name}</h2>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void addMember();
          }}
        >
          <input
            data-testid="add-member-name"
            aria-label="Add a member by user name"
            placeholder="Add member (user name)"
            value={member}
            onInput={(e) => setMember(e.currentTarget.value)}
          />
          <button data-testid="add-member-submit" type="submit">
            Add
          </button>
        </form>
      </header>
      <ol class="messages" data-testid="message-list" ref={list}>
        {messages.map((m) => (
          <li key={m.message_id} data-testid="message-item" data-message-id={m.message_id}>
            <span class="author">{m.user_name ?? 'deleted user'}</span>
            <span class="text">{m.text}</span>
            <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleTimeString()}</time>
          </li>
        ))}
      </ol>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <form
        class="composer row"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <textarea
          data-testid="composer"
          aria-label="Message"
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          rows={2}
          value={text}
          onInput={(e) => {
            // Other text is another message: the key of a failed send must not be reused for it.
            setText(e.currentTarget.value);
            setKey(newKey());
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button data-testid="send" type="submit" disabled={sending}>
          Send
        </button>
      </form>
    </section>
  );
}
