/** Row types of every table, as Kysely sees them. Kept in step with migrations/ by hand. */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** A timestamptz the database fills in (`default now()`) unless one is given. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface UsersTable {
  id: Generated<string>;
  /** NULL once the account is deleted (migrations/0010): its messages stay, by a nameless author. */
  user_name: ColumnType<string | null, string, string | null>;
  /**
   * lower(normalize(btrim(user_name), NFKC)): unique, so look-alike names are one name. NULL for
   * AUTH_DISABLED users (their names stay exact) and for look-alikes older than migration 0007.
   */
  name_key: Generated<string | null>;
  /** NULL for users created by AUTH_DISABLED mode: they cannot log in. */
  password_hash: string | null;
  display_name: string | null;
  created_at: Timestamp;
  /** When the account was deleted (migrations/0010); null while it exists. */
  deleted_at: NullableTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  /** SHA-256 of the token, hex. The token itself is never stored. */
  token_hash: string;
  user_agent: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  ended_at: NullableTimestamp;
  end_reason: SessionEndReason | null;
}

/**
 * Why a session ended; 'logout-all' and 'password-changed' since migrations/0005, 'account-deleted'
 * since migrations/0010.
 */
export type SessionEndReason = 'logout' | 'expired' | 'logout-all' | 'password-changed' | 'account-deleted';

export interface ChatsTable {
  id: Generated<string>;
  chat_name: string;
  kind: Generated<'group' | 'direct'>;
  created_by: string | null;
  created_at: Timestamp;
  /** The seq of the newest message; bumped under the row lock, so seqs commit in order. */
  last_message_seq: Generated<number>;
  last_message_at: NullableTimestamp;
  /** Direct chats only: the pair's two user ids, sorted, joined by ':'; unique (migrations/0003). */
  direct_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** What the chat is about, up to 500 characters; null while unset (migrations/0010). */
  topic: ColumnType<string | null, string | null | undefined, string | null>;
  /** Whether every member may pin messages, not only the owners (migrations/0010). */
  members_can_pin: Generated<boolean>;
}

export interface ChatMembersTable {
  chat_id: string;
  user_id: string;
  role: Generated<'owner' | 'member'>;
  joined_at: Timestamp;
  /** The seq of the newest message the member has read (migrations/0008); only moves forward. */
  last_read_seq: Generated<number>;
  last_read_message_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Messages by others after `last_read_seq`, kept by the writes (migrations/0008). */
  unread_count: Generated<number>;
  /** Of those, the ones that mention the member (migrations/0009). */
  mention_count: Generated<number>;
}

export interface MessagesTable {
  id: Generated<string>;
  chat_id: string;
  /** Position in the chat, 1, 2, 3, …: the key of history pagination. */
  seq: number;
  user_id: string;
  /** Empty for a message of attachments only. */
  text: string;
  created_at: Timestamp;
  /** When the author last edited `text` (migrations/0004). */
  edited_at: NullableTimestamp;
  /** The attachments, a JSON array as openapi.yaml's Attachment (migrations/0004). */
  attachments: ColumnType<unknown[], string | undefined, string>;
  /** The message of the same chat this one answers (migrations/0009); no foreign key: see there. */
  reply_to: ColumnType<string | null, string | null | undefined, string | null>;
  /** The replies to this message, kept by the writes (migrations/0009). */
  reply_count: Generated<number>;
  last_reply_at: NullableTimestamp;
  /** The members the text mentioned when it was posted (migrations/0009). */
  mentions: ColumnType<string[], string[] | undefined, string[]>;
  /**
   * Generated from `text` (migrations/0002_search.sql, 0011): english (weight A), russian (B) and
   * simple (C) lexemes, and the words inside glued tokens (D). Read by the search only; never written.
   */
  search_vector: ColumnType<string, never, never>;
}

/**
 * The search's vocabulary: every distinct token (simple-configuration lexeme) ever written, filled by
 * a trigger. Prefixes are completed and typos corrected against it.
 */
export interface SearchWordsTable {
  word: string;
}

/**
 * How many messages of a chat hold each token (migrations/0011), kept by triggers on messages:
 * corrections and prefix completions are ranked by the sum over the caller's chats.
 */
export interface SearchChatWordsTable {
  chat_id: string;
  word: string;
  /** May reach 0 after edits and deletes: readers skip those rows. */
  messages: number;
}

/**
 * An Idempotency-Key and the reply its request got, written in the transaction that stored the
 * request's messages (migrations/0006). Primary key (scope, key).
 */
export interface IdempotencyKeysTable {
  /** Whose key: `u:<user id>`, or `t:<?user_id=>` in AUTH_DISABLED mode. */
  scope: string;
  key: string;
  /** SHA-256 of method, path and canonical body. */
  fingerprint: string;
  status: number;
  /** The reply's body, as JSON; written as a JSON string. */
  body: ColumnType<unknown, string | null, string | null>;
  created_at: Timestamp;
  /** Never replayed after this; the cleanup deletes the row. */
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

/** The event log of the real-time stream (migrations/0008): one row per change a subscriber may see. */
export interface EventsTable {
  /** Commit order: writers hold one advisory lock from their insert to their commit. */
  id: ColumnType<string, never, never>;
  chat_id: string;
  type: string;
  data: ColumnType<Record<string, unknown>, string, string>;
  /** Whose membership the event changes, or to whom alone it goes. */
  user_ids: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  origin_session: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
}

/** A pinned message (migrations/0010); goes with its message or chat. At most 50 per chat. */
export interface ChatPinsTable {
  chat_id: string;
  message_id: string;
  pinned_by: string;
  pinned_at: Timestamp;
}

/** Who reacted to a message with which emoji (migrations/0009); primary key (message_id, emoji, user_id). */
export interface MessageReactionsTable {
  message_id: string;
  /** One emoji grapheme (canonical form) or a short name `:name:` (api/src/reactions/emoji.ts). */
  emoji: string;
  user_id: string;
  created_at: Timestamp;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  chats: ChatsTable;
  chat_members: ChatMembersTable;
  messages: MessagesTable;
  search_words: SearchWordsTable;
  search_chat_words: SearchChatWordsTable;
  idempotency_keys: IdempotencyKeysTable;
  events: EventsTable;
  chat_pins: ChatPinsTable;
  message_reactions: MessageReactionsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type ChatRow = Selectable<ChatsTable>;
export type MessageRow = Selectable<MessagesTable>;
