import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  type Chat,
  data,
  type Message,
  problem,
  type Profile,
  type ReadPosition,
  type StreamEvent,
} from './api.ts';
import { Composer, type Pending, PendingItem } from './Composer.tsx';
import { loadNewest, loadOlder } from './history.ts';
import { mergeLoaded, prepend, upsert } from './merge.ts';
import { Members } from './Members.tsx';
import { MessageItem } from './MessageItem.tsx';

interface Props {
  chat: Chat;
  /** The caller. */
  me: Profile;
  /** Open the chat at this message (a search result) rather than at its newest. */
  focusMessageId?: string;
  /** Hands this view the stream's events; answers how to stop. */
  subscribe: (listener: (event: StreamEvent) => void) => () => void;
  onRead: (chatId: string, position: ReadPosition) => void;
  onLeft: (chatId: string) => void;
}

/** A scroll position this close to an edge counts as at it. */
const EDGE_PX = 80;
/** How long a typing indicator stays without a new `typing` event. */
const TYPING_SHOWN_MS = 5000;
/** Reading is reported once the view has settled this long, not on every scrolled pixel. */
const READ_DEBOUNCE_MS = 250;

/** What the next render does to the scroll position. */
type ScrollIntent = { to: 'bottom' } | { to: 'keep'; fromBottom: number } | { to: 'focus' } | undefined;

/**
 * One chat: its history (newest first, older pages as the person scrolls up), live changes from the
 * stream, the read marker following what is on screen, members, and the composer.
 */
export function ChatView({ chat, me, focusMessageId, subscribe, onRead, onLeft }: Props) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [older, setOlder] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [pending, setPending] = useState<Pending[]>([]);
  const [typing, setTyping] = useState<Map<string, number>>(new Map());
  const [showMembers, setShowMembers] = useState(chat.kind === 'group' && chat.member_count <= 1);
  const [membersVersion, setMembersVersion] = useState(0);
  const [focused, setFocused] = useState(focusMessageId);
  const [error, setError] = useState('');
  const list = useRef<HTMLOListElement>(null);
  const membersToggle = useRef<HTMLButtonElement>(null);
  const scrollIntent = useRef<ScrollIntent>();
  /** The newest message marked read (index order is history order). */
  const readUpTo = useRef<string | null>(chat.last_read_message_id);
  /** Messages that arrived while a run of history was loading, kept to merge with it. */
  const live = useRef<Message[]>([]);
  const deletedLive = useRef(new Set<string>());
  const loading = useRef(true);
  const fetchingOlder = useRef(false);
  const messagesRef = useRef(messages);
  messagesRef.current = messages;

  function atBottom(): boolean {
    const el = list.current;
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX;
  }

  /** Loads the newest run of history (down to the focused message), keeping what came live meanwhile. */
  async function reload(until?: string) {
    live.current = [];
    deletedLive.current = new Set();
    loading.current = true;
    try {
      const run = await loadNewest(chat.chat_id, until);
      setError('');
      scrollIntent.current = until && run.found ? { to: 'focus' } : { to: 'bottom' };
      if (until && !run.found) setError('That message is no longer in this chat’s recent history.');
      setMessages(mergeLoaded(run.messages, live.current, deletedLive.current));
      setOlder(run.older);
      setLoaded(true);
    } catch (err) {
      setError(problem(err));
    } finally {
      loading.current = false;
    }
  }

  useEffect(() => {
    void reload(focusMessageId);
  }, []);

  // Live changes to this chat, and a resync (the stream could not replay what was missed).
  useEffect(
    () =>
      subscribe((event) => {
        if (event.type === 'resync') {
          void reload();
          return;
        }
        if (!('chat_id' in event.payload) || event.payload.chat_id !== chat.chat_id) return;
        switch (event.type) {
          case 'message.created':
          case 'message.edited': {
            const message = event.payload.message;
            if (loading.current) live.current.push(message);
            if (event.type === 'message.created' && atBottom()) scrollIntent.current = { to: 'bottom' };
            setMessages((shown) =>
              event.type === 'message.edited' && !shown.some((m) => m.message_id === message.message_id)
                ? shown
                : upsert(shown, message),
            );
            const author = message.user_name;
            if (author) setTyping((now) => without(now, author));
            break;
          }
          case 'message.deleted': {
            const id = event.payload.message_id;
            if (loading.current) deletedLive.current.add(id);
            setMessages((shown) => shown.filter((m) => m.message_id !== id));
            break;
          }
          case 'typing': {
            const name = event.payload.user_name;
            setTyping((now) => new Map(now).set(name, Date.now() + TYPING_SHOWN_MS));
            break;
          }
          case 'chat.member_added':
          case 'chat.member_removed':
            setMembersVersion((v) => v + 1);
            break;
        }
      }),
    [subscribe],
  );

  // Typing indicators fade out on their own.
  useEffect(() => {
    if (typing.size === 0) return;
    const timer = setInterval(() => {
      const now = Date.now();
      setTyping((shown) => new Map([...shown].filter(([, until]) => until > now)));
    }, 1000);
    return () => clearInterval(timer);
  }, [typing.size > 0]);

  // The scroll position after a render: at the bottom, kept where it was (older messages above), or
  // at the focused message.
  useLayoutEffect(() => {
    const el = list.current;
    const intent = scrollIntent.current;
    scrollIntent.current = undefined;
    if (!el || !intent) return;
    if (intent.to === 'bottom') el.scrollTop = el.scrollHeight;
    else if (intent.to === 'keep') el.scrollTop = el.scrollHeight - intent.fromBottom;
    else {
      const item = el.querySelector<HTMLElement>('[data-focused="true"]');
      item?.scrollIntoView({ block: 'center' });
      item?.focus({ preventScroll: true });
    }
    // A first page shorter than the view cannot be scrolled up: load older ones until it can.
    if (older && el.scrollHeight <= el.clientHeight) void more();
  }, [messages, pending]);

  async function more() {
    const from = older;
    // A ref, not the state: scroll events come faster than a render.
    if (!from || fetchingOlder.current) return;
    fetchingOlder.current = true;
    setLoadingOlder(true);
    try {
      const page = await loadOlder(chat.chat_id, from);
      const el = list.current;
      if (el) scrollIntent.current = { to: 'keep', fromBottom: el.scrollHeight - el.scrollTop };
      setMessages((shown) => prepend(shown, page.messages));
      setOlder(page.older);
    } catch (err) {
      setError(problem(err));
    } finally {
      fetchingOlder.current = false;
      setLoadingOlder(false);
    }
  }

  // The read marker follows what is on screen: the newest message seen at least half moves it.
  useEffect(() => {
    const el = list.current;
    if (!el || messages.length === 0) return;
    const seen = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const id = (entry.target as HTMLElement).dataset.messageId;
          if (!id) continue;
          const rootHeight = entry.rootBounds?.height ?? Infinity;
          const read =
            entry.isIntersecting &&
            (entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= rootHeight / 2);
          if (read) seen.add(id);
          else seen.delete(id);
        }
        clearTimeout(timer);
        timer = setTimeout(() => void markRead(seen), READ_DEBOUNCE_MS);
      },
      { root: el, threshold: [0, 0.5, 1] },
    );
    for (const item of el.querySelectorAll('[data-testid="message-item"]')) observer.observe(item);
    // What arrived while the tab was hidden is read when the person comes back to it.
    const onVisible = () => void markRead(seen);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearTimeout(timer);
      observer.disconnect();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [messages]);

  async function markRead(seen: Set<string>) {
    if (document.visibilityState !== 'visible') return;
    const shown = messagesRef.current;
    let newest = -1;
    shown.forEach((m, i) => {
      if (seen.has(m.message_id)) newest = i;
    });
    const marked = shown.findIndex((m) => m.message_id === readUpTo.current);
    // Only forward: the API ignores an older position anyway, and this saves the request.
    if (newest < 0 || newest <= marked) return;
    // A marked message not shown is older than all that are (history loads from the newest down),
    // or deleted: either way the newest seen is further on.
    const id = shown[newest]!.message_id;
    const before = readUpTo.current;
    readUpTo.current = id;
    try {
      const position = data(
        await api.POST('/v1/chats/{chat_id}/read', {
          params: { path: { chat_id: chat.chat_id } },
          body: { message_id: id },
        }),
      );
      onRead(chat.chat_id, position);
    } catch {
      // Nothing the person did failed (the API may be restarting: the banner says so); the marker
      // is moved again with the next message seen.
      if (readUpTo.current === id) readUpTo.current = before;
    }
  }

  async function edit(message: Message, text: string): Promise<boolean> {
    setError('');
    try {
      const edited = data(
        await api.PATCH('/v1/chats/{chat_id}/messages/{message_id}', {
          params: { path: { chat_id: chat.chat_id, message_id: message.message_id } },
          body: { message: text },
        }),
      );
      setMessages((shown) => upsert(shown, edited));
      return true;
    } catch (err) {
      setError(problem(err));
      return false;
    }
  }

  async function remove(message: Message) {
    setError('');
    const { error: failed, response } = await api
      .DELETE('/v1/chats/{chat_id}/messages/{message_id}', {
        params: { path: { chat_id: chat.chat_id, message_id: message.message_id } },
      })
      .catch((err: unknown) => ({ error: err, response: undefined }));
    if (failed !== undefined || response?.status !== 204) {
      setError(problem(failed));
      return;
    }
    setMessages((shown) => shown.filter((m) => m.message_id !== message.message_id));
  }

  /** Sends (or re-sends, with the same Idempotency-Key) one pending message. */
  async function send(item: Pending) {
    setPending((now) => now.map((p) => (p.key === item.key ? { ...p, failed: undefined } : p)));
    if (atBottom()) scrollIntent.current = { to: 'bottom' };
    try {
      const { message_id } = data(
        await api.POST('/v1/chats/{chat_id}/messages', {
          params: { path: { chat_id: chat.chat_id }, header: { 'Idempotency-Key': item.key } },
          body: { message: item.text, attachments: item.attachments },
        }),
      );
      // Shown as sent at once; its message.created event (before or after this) replaces it in place.
      const sent: Message = {
        message_id,
        chat_id: chat.chat_id,
        user_id: me.user_id,
        user_name: me.user_name,
        text: item.text,
        attachments: item.attachments,
        created_at: new Date().toISOString(),
        // Until its event brings the API's version (mentions are the API's to find).
        reply_to: null,
        reply_count: 0,
        last_reply_at: null,
        reactions: [],
        mentions: [],
      };
      scrollIntent.current = { to: 'bottom' };
      setMessages((shown) => (shown.some((m) => m.message_id === message_id) ? shown : upsert(shown, sent)));
      setPending((now) => now.filter((p) => p.key !== item.key));
    } catch (err) {
      setPending((now) => now.map((p) => (p.key === item.key ? { ...p, failed: problem(err) } : p)));
    }
  }

  const typingNames = [...typing.keys()];
  return (
    <section class="chat-view">
      <header class="chat-head">
        <h2>{chat.chat_name}</h2>
        <button
          data-testid="members-toggle"
          ref={membersToggle}
          type="button"
          class="secondary"
          aria-expanded={showMembers}
          onClick={() => setShowMembers(!showMembers)}
        >
          Members ({chat.member_count})
        </button>
      </header>
      {showMembers && (
        <Members
          chat={chat}
          me={me.user_id}
          version={membersVersion}
          onLeft={() => onLeft(chat.chat_id)}
          onClose={() => {
            setShowMembers(false);
            membersToggle.current?.focus();
          }}
        />
      )}
      <ol
        class="messages"
        data-testid="message-list"
        ref={list}
        tabIndex={0}
        aria-label="Messages"
        aria-busy={!loaded || loadingOlder}
        onScroll={(e) => {
          if (e.currentTarget.scrollTop < EDGE_PX) void more();
        }}
      >
        {older && (
          <li class="older">
            <button type="button" class="link-button" onClick={() => void more()} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Older messages'}
            </button>
          </li>
        )}
        {loaded && messages.length === 0 && pending.length === 0 && <li class="empty">No messages yet.</li>}
        {messages.map((m) => (
          <MessageItem
            key={m.message_id}
            message={m}
            mine={m.user_id === me.user_id}
            focused={m.message_id === focused}
            onEdit={(text) => edit(m, text)}
            onDelete={() => void remove(m)}
          />
        ))}
        {pending.map((p) => (
          <PendingItem key={p.key} item={p} onRetry={() => void send(p)} />
        ))}
      </ol>
      <p class="typing" data-testid="typing-indicator" aria-live="polite">
        {typingNames.length > 0 &&
          `${typingNames.join(', ')} ${typingNames.length === 1 ? 'is' : 'are'} typing…`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <Composer
        chatId={chat.chat_id}
        autoFocus={focusMessageId === undefined}
        onSend={(item) => {
          setFocused(undefined);
          setPending((now) => [...now, item]);
          void send(item);
        }}
      />
    </section>
  );
}

function without(map: Map<string, number>, key: string): Map<string, number> {
  if (!map.has(key)) return map;
  const next = new Map(map);
  next.delete(key);
  return next;
}
