import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type Chat, data, type Message, problem, session, whenSessionEnds } from './api.ts';
import { ChatList } from './ChatList.tsx';
import { ChatView } from './ChatView.tsx';
import { EventStream, type EventType } from './events.ts';
import { Login } from './Login.tsx';

const USER_KEY = 'messenger.user';

/** The whole client: the login form without a session, the chats and the open chat with one. */
export function App() {
  const [loggedIn, setLoggedIn] = useState(session.get() !== null);
  const [userName, setUserName] = useState(localStorage.getItem(USER_KEY) ?? '');
  const [chats, setChats] = useState<Chat[]>([]);
  const [openChatId, setOpenChatId] = useState<string>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [reconnecting, setReconnecting] = useState(false);
  const [error, setError] = useState('');
  // Read by the event handler, which lives as long as the stream.
  const openRef = useRef<string>();
  openRef.current = openChatId;

  useEffect(() => whenSessionEnds(() => setLoggedIn(false)), []);

  const refreshChats = useCallback(async () => {
    try {
      setChats(data(await api.GET('/v1/chats', { params: { query: { limit: 100 } } })).chats);
      // The list is current again: an earlier failure (the API unreachable) no longer applies.
      setError('');
    } catch (err) {
      setError(problem(err));
    }
  }, []);

  /** Marks the chat read up to its newest message, so its unread count drops to zero. */
  const markRead = useCallback(
    async (chatId: string, messageId: string) => {
      try {
        data(
          await api.POST('/v1/chats/{chat_id}/read', {
            params: { path: { chat_id: chatId } },
            body: { message_id: messageId },
          }),
        );
      } catch (err) {
        setError(problem(err));
      }
      await refreshChats();
    },
    [refreshChats],
  );

  const onEvent = useCallback(
    (type: EventType, payload: Record<string, unknown>) => {
      const chatId = payload.chat_id as string | undefined;
      if (type === 'message.created' && chatId && chatId === openRef.current) {
        const message = payload.message as Message;
        // A reconnect resumes after the last event seen, but a message may also come from a reload.
        setMessages((shown) =>
          shown.some((m) => m.message_id === message.message_id) ? shown : [...shown, message],
        );
        void markRead(chatId, message.message_id);
        return;
      }
      if (type === 'message.deleted' && chatId === openRef.current) {
        setMessages((shown) => shown.filter((m) => m.message_id !== payload.message_id));
      }
      // Unread counts, last messages and the order are the API's: ask again rather than recount.
      void refreshChats();
    },
    [markRead, refreshChats],
  );

  useEffect(() => {
    if (!loggedIn) return;
    void refreshChats();
    const stream = new EventStream(onEvent, (down) => {
      setReconnecting(down);
      // Back after an outage: what failed meanwhile (the list, its error) is fetched again.
      if (!down) void refreshChats();
    });
    stream.start();
    return () => stream.close();
  }, [loggedIn, onEvent, refreshChats]);

  useEffect(() => {
    if (!openChatId) return;
    setMessages([]);
    void (async () => {
      try {
        const page = data(
          await api.GET('/v1/chats/{chat_id}/messages', {
            params: { path: { chat_id: openChatId }, query: { order: 'desc', limit: 50 } },
          }),
        );
        const oldestFirst = [...page.messages].reverse();
        setMessages(oldestFirst);
        const newest = oldestFirst.at(-1);
        if (newest) await markRead(openChatId, newest.message_id);
      } catch (err) {
        setError(problem(err));
      }
    })();
  }, [openChatId, markRead]);

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
        onLoggedIn={(name) => {
          localStorage.setItem(USER_KEY, name);
          setUserName(name);
          setOpenChatId(undefined);
          setLoggedIn(true);
        }}
      />
    );
  }
  const openChat = chats.find((c) => c.chat_id === openChatId);
  return (
    <div class="app">
      <header class="top">
        <strong>{userName}</strong>
        <button data-testid="logout" type="button" onClick={() => void logout()}>
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
      <main class={openChat ? 'main chat-open' : 'main'}>
        <ChatList
          chats={chats}
          openChatId={openChatId}
          onOpen={setOpenChatId}
          onCreated={(chatId) => {
            setOpenChatId(chatId);
            void refreshChats();
          }}
        />
        {/* Keyed by chat, so a draft and its Idempotency-Key never carry over to another chat. */}
        {openChat && <ChatView key={openChat.chat_id} chat={openChat} messages={messages} />}
      </main>
    </div>
  );
}
