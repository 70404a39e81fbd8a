-- 0010: chat topics and settings, pinned messages, deleted accounts (issue 13, "Chats" and
-- "Accounts"). The same file on PostgreSQL 15 and PGlite.
-- Frozen once landed: change the schema in a new numbered file.

-- What the chat is about, set by an owner; null while unset. The contract's limit, kept here too.
alter table chats add column topic text;
alter table chats add constraint chats_topic_length check (topic is null or char_length(topic) <= 500);
-- Whether every member may pin (otherwise owners only).
alter table chats add column members_can_pin boolean not null default false;

-- Pinned messages. A deleted message's pin goes with it (on delete cascade), and so do a deleted
-- chat's. At most 50 per chat: the API counts under the chat row's lock.
create table chat_pins (
  chat_id uuid not null references chats (id) on delete cascade,
  message_id uuid not null references messages (id) on delete cascade,
  -- Account deletion keeps the users row (a tombstone), so this never dangles.
  pinned_by uuid not null references users (id),
  pinned_at timestamptz not null default now(),
  primary key (chat_id, message_id)
);
-- The pin list, newest first.
create index chat_pins_chat_id_pinned_at_idx on chat_pins (chat_id, pinned_at, message_id);
-- The message's delete cascades through this.
create index chat_pins_message_id_idx on chat_pins (message_id);

-- A deleted account keeps its row, so its messages keep their author (`messages.user_id` has no
-- cascade, and conversations stay readable): the name, password and profile are cleared, and the
-- name becomes null, which frees the exact name at once (a unique index counts no nulls). name_key
-- stays until the grace period (ACCOUNT_NAME_GRACE_DAYS) has passed, so no one can take the name,
-- or a look-alike of it, before then; a registration of it afterwards clears the old key first.
alter table users add column deleted_at timestamptz;
alter table users alter column user_name drop not null;
alter table users add constraint users_deleted_nameless
  check ((deleted_at is null) = (user_name is not null));

alter table sessions drop constraint sessions_end_reason;
alter table sessions add constraint sessions_end_reason
  check (end_reason in ('logout', 'expired', 'logout-all', 'password-changed', 'account-deleted'));

-- The account export pages through the user's own messages chat by chat, in order (keyset on
-- (chat_id, seq)); the same index serves every lookup by user_id that the old one did.
create index messages_user_id_chat_id_seq_idx on messages (user_id, chat_id, seq);
drop index messages_user_id_idx;
