import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  type Chat,
  data,
  problem,
  type Profile,
  type ReadPosition,
  session,
  type StreamEvent,
  whenSessionEnds,
} from './api.ts';
import { ChatList } from './ChatList.tsx';
import { ChatView } from './ChatView.tsx';
import { DirectDraft } from './DirectDraft.tsx';
import { EventStream } from './events.ts';
import { Login } from './Login.tsx';
import { Search } from './Search.tsx';

/** What the main pane shows: a chat (perhaps at a message), or a direct conversation not yet begun. */
type Opened =
  | { kind: 'chat'; chatId: string; focus?: string; visit: number }
  | { kind: 'direct'; userName: string }
  | undefined;

/** Bursts of events (a busy chat) cost one chat-list read, not one each. */
const REFRESH_COALESCE_MS = 50;

/** The whole client: the login form without a session, the chats and the open chat with one. */
export function App() {
  const [loggedIn, setLoggedIn] = useState(session.get() !== null);
  const [me, setMe] = useState<Profile>();
  const [chats, setChats] = useState<Chat[]>([]);
  const [opened, setOpened] = useState<Opened>();
  const [reconnecting, setReconnecting] = useState(false);
  const [error, setError] = useState('');
  // Read by the event handler, which lives as long as the stream.
  const meRef = useRef(me);
  meRef.current = me;
  const listeners = useRef(new Set<(event: StreamEvent) => void>());
  const refresh = useRef<{ timer?: ReturnType<typeof setTimeout>; seq: number }>({ seq: 0 });

  useEffect(() => whenSessionEnds(() => setLoggedIn(false)), []);

  const refreshChats = useCallback(async () => {
    clearTimeout(refresh.current.timer);
    const seq = ++refresh.current.seq;
    try {
      const list = data(await api.GET('/v1/chats', { params: { query: { limit: 100 } } })).chats;
      // An older read that answers late must not undo a newer one.
      if (seq !== refresh.current.seq) return;
      setChats(list);
      // The list is current again: an earlier failure (the API unreachable) no longer applies.
      setError('');
    } catch (err) {
      if (seq === refresh.current.seq) setError(problem(err));
    }
  }, []);

  const scheduleRefresh = useCallback(() => {
    clearTimeout(refresh.current.timer);
    refresh.current.timer = setTimeout(() => void refreshChats(), REFRESH_COALESCE_MS);
  }, [refreshChats]);

  const subscribe = useCallback((listener: (event: StreamEvent) => void) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);

  const onRead = useCallback((chatId: string, position: ReadPosition) => {
    setChats((list) =>
      list.map((c) =>
        c.chat_id === chatId
          ? { ...c, unread_count: position.unread_count, last_read_message_id: position.last_read_message_id }
          : c,
      ),
    );
  }, []);

  /** The chat is gone for this person (left, removed, deleted): out of the list, closed if open. */
  const forget = useCallback((chatId: string) => {
    setChats((list) => list.filter((c) => c.chat_id !== chatId));
    setOpened((now) => (now?.kind === 'chat' && now.chatId === chatId ? undefined : now));
  }, []);

  const onEvent = useCallback(
    (event: StreamEvent) => {
      for (const listener of listeners.current) listener(event);
      switch (event.type) {
        case 'typing':
          return;
        case 'chat.read':
          onRead(event.payload.chat_id, event.payload);
          return;
        case 'chat.deleted':
          forget(event.payload.chat_id);
          return;
        case 'chat.member_removed':
          if (event.payload.user_id === meRef.current?.user_id) {
            forget(event.payload.chat_id);
            return;
          }
          break;
      }
      // Unread counts, last messages and the order are the API's: ask again rather than recount.
      scheduleRefresh();
    },
    [forget, onRead, scheduleRefresh],
  );

  useEffect(() => {
    if (!loggedIn) return;
    void (async () => {
      try {
        setMe(data(await api.GET('/v1/users/me')));
      } catch (err) {
        setError(problem(err));
      }
    })();
    void refreshChats();
    const stream = new EventStream(onEvent, (down) => {
      setReconnecting(down);
      // Back after an outage: what failed meanwhile (the list, its error) is fetched again.
      if (!down) void refreshChats();
    });
    stream.start();
    return () => stream.close();
  }, [loggedIn, onEvent, refreshChats]);

  const openChat = useCallback((chatId: string, focus?: string) => {
    setOpened((now) => {
      const visit = now?.kind === 'chat' ? now.visit : 0;
      // The chat already open stays as it is, unless a message in it is to be shown.
      if (now?.kind === 'chat' && now.chatId === chatId && focus === undefined) return now;
      return { kind: 'chat', chatId, focus, visit: visit + 1 };
    });
  }, []);

  /** Opens the direct conversation with a person: their chat if they have written, else a draft. */
  async function openDirect(userName: string): Promise<string | undefined> {
    try {
      const page = data(
        await api.GET('/v1/direct/{user_name}/messages', {
          params: { path: { user_name: userName }, query: { limit: 1, order: 'desc' } },
        }),
      );
      const chatId = page.messages[0]?.chat_id;
      if (chatId === undefined) {
        setOpened({ kind: 'direct', userName });
        return undefined;
      }
      if (!chats.some((c) => c.chat_id === chatId)) await refreshChats();
      openChat(chatId);
      return undefined;
    } catch (err) {
      return problem(err);
    }
  }

  async function logout() {
    try {
      await api.POST('/v1/auth/logout');
    } catch {
      // Unreachable: the session is forgotten here all the same, and expires on the server.
    } finally {
      session.clear();
      setLoggedIn(false);
    }
  }

  if (!loggedIn) {
    return (
      <Login
        onLoggedIn={() => {
          setMe(undefined);
          setChats([]);
          setOpened(undefined);
          setLoggedIn(true);
        }}
      />
    );
  }
  const chat = opened?.kind === 'chat' ? chats.find((c) => c.chat_id === opened.chatId) : undefined;
  return (
    <div class="app">
      <header class="top">
        <strong data-testid="me">{me?.user_name}</strong>
        <Search chats={chats} onOpen={openChat} />
        <button data-testid="logout" type="button" class="secondary" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      {reconnecting && (
        <p class="banner" data-testid="connection-banner" role="status">
          Reconnecting…
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <main class={opened ? 'main chat-open' : 'main'}>
        <ChatList
          chats={chats}
          openChatId={chat?.chat_id}
          onOpen={(chatId) => openChat(chatId)}
          onCreated={(chatId) => {
            openChat(chatId);
            void refreshChats();
          }}
          onDirect={openDirect}
        />
        {/* Keyed by chat and visit: a draft never carries over to another chat, and opening a
            search result reloads the history down to it. */}
        {chat && me && opened?.kind === 'chat' && (
          <ChatView
            key={`${chat.chat_id}:${opened.visit}`}
            chat={chat}
            me={me}
            focusMessageId={opened.focus}
            subscribe={subscribe}
            onRead={onRead}
            onLeft={forget}
          />
        )}
        {opened?.kind === 'direct' && (
          <DirectDraft
            key={opened.userName}
            userName={opened.userName}
            onCreated={(chatId) => {
              void refreshChats().then(() => openChat(chatId));
            }}
          />
        )}
      </main>
    </div>
  );
}
