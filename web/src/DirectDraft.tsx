import { useState } from 'preact/hooks';
import { api, data, problem } from './api.ts';
import { Composer, type Pending, PendingItem } from './Composer.tsx';

interface Props {
  userName: string;
  /** The first message made the pair's direct chat: open it. */
  onCreated: (chatId: string) => void;
}

/**
 * A direct conversation that has no message yet, so no chat: the first message, sent to the person
 * by name, creates it (POST /v1/direct/{user_name}/messages) and the chat opens in its place.
 */
export function DirectDraft({ userName, onCreated }: Props) {
  const [pending, setPending] = useState<Pending>();

  async function send(item: Pending) {
    setPending({ ...item, failed: undefined });
    try {
      const { chat_id } = data(
        await api.POST('/v1/direct/{user_name}/messages', {
          params: { path: { user_name: userName }, header: { 'Idempotency-Key': item.key } },
          body: { message: item.text },
        }),
      );
      onCreated(chat_id);
    } catch (err) {
      setPending({ ...item, failed: problem(err) });
    }
  }

  return (
    <section class="chat-view">
      <header class="chat-head">
        <h2>{userName}</h2>
      </header>
      <ol class="messages" data-testid="message-list" aria-label="Messages">
        {pending ? (
          <PendingItem item={pending} onRetry={() => void send(pending)} />
        ) : (
          <li class="empty">No messages yet: the first one starts your conversation with {userName}.</li>
        )}
      </ol>
      <Composer chatId={undefined} autoFocus onSend={(item) => void send(item)} />
    </section>
  );
}
