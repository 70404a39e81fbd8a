import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Chat, data, problem } from './api.ts';
import { FieldForm } from './FieldForm.tsx';

interface Props {
  chats: Chat[];
  openChatId: string | undefined;
  onOpen: (chatId: string) => void;
  onCreated: (chatId: string) => void;
  /** Open the direct conversation with this person (it may not exist yet). */
  onDirect: (userName: string) => Promise<string | undefined>;
}

/** The person's chats, most recently active first (as the API lists them), and a new-chat form. */
export function ChatList({ chats, openChatId, onOpen, onCreated, onDirect }: Props) {
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [peer, setPeer] = useState('');
  const [error, setError] = useState('');
  const nameInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (creating) nameInput.current?.focus();
  }, [creating]);

  async function direct() {
    setError('');
    const failed = await onDirect(peer.trim());
    if (failed) setError(failed);
    else setPeer('');
  }

  async function create() {
    setError('');
    try {
      const { chat_id } = data(await api.POST('/v1/chats', { body: { chat_name: name } }));
      setName('');
      setCreating(false);
      onCreated(chat_id);
    } catch (err) {
      setError(problem(err));
    }
  }

  return (
    <nav class="chats">
      <button data-testid="new-chat" type="button" onClick={() => setCreating(!creating)}>
        New chat
      </button>
      {creating && (
        <FieldForm
          inputTestId="new-chat-name"
          buttonTestId="new-chat-create"
          label="Chat name"
          placeholder="Chat name"
          button="Create"
          value={name}
          onInput={setName}
          onSubmit={() => void create()}
          onEscape={() => setCreating(false)}
          inputRef={nameInput}
        />
      )}
      <FieldForm
        inputTestId="direct-user-name"
        buttonTestId="direct-open"
        label="Write to a person (user name)"
        placeholder="Write to (user name)"
        button="Open"
        value={peer}
        onInput={setPeer}
        onSubmit={() => {
          if (peer.trim() !== '') void direct();
        }}
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ul data-testid="chat-list">
        {chats.map((chat) => (
          <li key={chat.chat_id}>
            <button
              type="button"
              data-testid="chat-item"
              data-chat-id={chat.chat_id}
              class={chat.chat_id === openChatId ? 'chat open' : 'chat'}
              aria-current={chat.chat_id === openChatId ? 'true' : undefined}
              onClick={() => onOpen(chat.chat_id)}
            >
              <span class="chat-name">
                {chat.kind === 'direct' && <span aria-label="direct conversation">@ </span>}
                {chat.chat_name}
              </span>
              {chat.unread_count > 0 && (
                <span class="unread" data-testid="unread-count" aria-label="unread messages">
                  {chat.unread_count}
                </span>
              )}
              {chat.last_message && (
                <span class="last">
                  {chat.last_message.user_name ?? 'deleted user'}: {chat.last_message.text}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
