import { useState } from 'preact/hooks';
import type { Attachment, Message } from './api.ts';

interface Props {
  message: Message;
  mine: boolean;
  /** Opened at this message (a search result): marked and scrolled to. */
  focused: boolean;
  onEdit: (text: string) => Promise<boolean>;
  onDelete: () => void;
}

/** One message: author, time, text, attachments; the author's own also get edit and delete. */
export function MessageItem({ message: m, mine, focused, onEdit, onDelete }: Props) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.text);

  async function save() {
    if (draft.trim() === '' || draft === m.text) {
      setEditing(false);
      return;
    }
    if (await onEdit(draft)) setEditing(false);
  }

  return (
    <li
      data-testid="message-item"
      data-message-id={m.message_id}
      data-focused={focused ? 'true' : undefined}
      class={focused ? 'message focused' : 'message'}
      tabIndex={focused ? -1 : undefined}
    >
      <span class="author">{m.user_name ?? 'deleted user'}</span>
      <time dateTime={m.created_at}>
        {new Date(m.created_at).toLocaleTimeString()}
        {m.edited_at && <span class="edited"> (edited)</span>}
      </time>
      {editing ? (
        <form
          class="edit row"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <textarea
            data-testid="edit-input"
            aria-label="Edit the message (Enter saves, Escape cancels)"
            rows={2}
            value={draft}
            ref={(el) => {
              // Focused once, when editing starts; later renders leave the focus where it is.
              if (el && !el.dataset.focused) {
                el.dataset.focused = '1';
                el.focus();
              }
            }}
            onInput={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                e.preventDefault();
                setEditing(false);
              } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                void save();
              }
            }}
          />
          <button data-testid="edit-save" type="submit">
            Save
          </button>
        </form>
      ) : (
        m.text !== '' && <span class="text">{m.text}</span>
      )}
      {m.attachments && m.attachments.length > 0 && (
        <div class="attachments">{m.attachments.map(renderAttachment)}</div>
      )}
      {mine && !editing && (
        <span class="actions">
          <button
            data-testid="message-edit"
            type="button"
            class="link-button"
            aria-label="Edit this message"
            onClick={() => {
              setDraft(m.text);
              setEditing(true);
            }}
          >
            Edit
          </button>
          <button
            data-testid="message-delete"
            type="button"
            class="link-button"
            aria-label="Delete this message"
            onClick={onDelete}
          >
            Delete
          </button>
        </span>
      )}
    </li>
  );
}

/** An image by its URL, a link by its title, a video as a link to where it is hosted. */
function renderAttachment(a: Attachment, index: number) {
  if (a.type === 'image') {
    return (
      <a key={index} href={a.url} target="_blank" rel="noopener noreferrer">
        <img
          data-testid="attachment-image"
          src={a.url}
          width={a.width}
          height={a.height}
          alt="An attached image"
          loading="lazy"
          referrerpolicy="no-referrer"
        />
      </a>
    );
  }
  const label = a.type === 'link' ? (a.title ?? a.url) : `Video (${a.source}): ${a.url}`;
  return (
    <a
      key={index}
      data-testid={`attachment-${a.type}`}
      href={a.url}
      target="_blank"
      rel="noopener noreferrer"
    >
      {label}
    </a>
  );
}
