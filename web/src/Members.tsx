import { useEffect, useState } from 'preact/hooks';
import { api, type Chat, data, type Member, problem } from './api.ts';
import { FieldForm } from './FieldForm.tsx';

interface Props {
  chat: Chat;
  me: string;
  /** Bumped when a member joins or leaves (an event): the list is read again. */
  version: number;
  onLeft: () => void;
  /** Escape closes the panel. */
  onClose: () => void;
}

/** The chat's members (first 100, longest-standing first), adding one by user name, and leaving. */
export function Members({ chat, me, version, onLeft, onClose }: Props) {
  const [members, setMembers] = useState<Member[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    let current = true;
    void (async () => {
      try {
        const page = data(
          await api.GET('/v1/chats/{chat_id}/users', {
            params: { path: { chat_id: chat.chat_id }, query: { limit: 100 } },
          }),
        );
        if (current) setMembers(page.users);
      } catch (err) {
        if (current) setError(problem(err));
      }
    })();
    return () => {
      current = false;
    };
  }, [chat.chat_id, version]);

  async function add() {
    setError('');
    try {
      data(
        await api.POST('/v1/chats/{chat_id}/users', {
          params: { path: { chat_id: chat.chat_id } },
          body: { user_name: name },
        }),
      );
      setName('');
      // The member_added event bumps `version` too; the list is not left waiting for it.
      const page = data(
        await api.GET('/v1/chats/{chat_id}/users', {
          params: { path: { chat_id: chat.chat_id }, query: { limit: 100 } },
        }),
      );
      setMembers(page.users);
    } catch (err) {
      setError(problem(err));
    }
  }

  async function leave() {
    setError('');
    try {
      const { error: failed, response } = await api.DELETE('/v1/chats/{chat_id}/users/{user_id}', {
        params: { path: { chat_id: chat.chat_id, user_id: me } },
      });
      if (failed !== undefined || response.status !== 204) throw new Error(problem(failed));
      onLeft();
    } catch (err) {
      setError(problem(err));
    }
  }

  return (
    <section
      class="members"
      aria-label="Members"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <ul data-testid="member-list">
        {members.map((m) => (
          <li key={m.user_id} data-testid="member-item" data-user-id={m.user_id}>
            {m.user_name}
            {m.role === 'owner' && <span class="role"> (owner)</span>}
          </li>
        ))}
      </ul>
      {chat.kind === 'group' && (
        <FieldForm
          inputTestId="add-member-name"
          buttonTestId="add-member-submit"
          label="Add a member by user name"
          placeholder="Add member (user name)"
          button="Add"
          value={name}
          onInput={setName}
          onSubmit={() => void add()}
        />
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button data-testid="leave-chat" type="button" class="secondary" onClick={() => void leave()}>
        Leave chat
      </button>
    </section>
  );
}
