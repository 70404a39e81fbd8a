-- 0001: users, sessions, chats, members and messages.
-- Frozen once landed: change the schema in a new numbered file.

create table users (
  id uuid primary key default gen_random_uuid(),
  user_name text not null,
  -- null for users created by the trust-the-client mode (AUTH_DISABLED): they cannot log in
  password_hash text,
  display_name text,
  created_at timestamptz not null default now(),
  constraint users_user_name_length check (char_length(user_name) between 1 and 255)
);
create unique index users_user_name_key on users (user_name);

-- Sessions are served from the store (Redis) and recorded here, so that they survive the loss of
-- the store and a session ended here never comes back. Only a SHA-256 of the token is kept.
create table sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  token_hash text not null,
  user_agent text,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  ended_at timestamptz,
  end_reason text,
  constraint sessions_end_reason check (end_reason in ('logout', 'expired')),
  constraint sessions_ended check ((ended_at is null) = (end_reason is null))
);
create unique index sessions_token_hash_key on sessions (token_hash);
create index sessions_user_id_active_idx on sessions (user_id) where ended_at is null;

create table chats (
  id uuid primary key default gen_random_uuid(),
  chat_name text not null,
  kind text not null default 'group',
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  -- Bumped under this row's lock by every post, so a chat's seqs commit in order and a reader
  -- paging by seq never skips a message that commits late.
  last_message_seq bigint not null default 0,
  last_message_at timestamptz,
  constraint chats_chat_name_length check (char_length(chat_name) between 1 and 255),
  constraint chats_kind check (kind in ('group', 'direct'))
);

create table chat_members (
  chat_id uuid not null references chats (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null default 'member',
  joined_at timestamptz not null default now(),
  primary key (chat_id, user_id),
  constraint chat_members_role check (role in ('owner', 'member'))
);
-- "my chats" and membership checks by user
create index chat_members_user_id_idx on chat_members (user_id, chat_id);

create table messages (
  id uuid primary key default gen_random_uuid(),
  chat_id uuid not null references chats (id) on delete cascade,
  seq bigint not null,
  user_id uuid not null references users (id),
  text text not null,
  created_at timestamptz not null default now()
);
-- History pages are keyset scans of this index in either direction.
create unique index messages_chat_id_seq_key on messages (chat_id, seq);
create index messages_user_id_idx on messages (user_id);
