-- 0009: replies and threads, reactions, mentions (issue 13), the same file on PostgreSQL and PGlite.
-- Frozen once landed: change the schema in a new numbered file.

-- A reply names the message it answers, of the same chat (checked by the API in the transaction
-- that stores it). No foreign key: deleting a message removes its row (0004), and its thread must
-- stay readable under it, so a reply keeps pointing at the id of a root that is gone.
-- reply_count and last_reply_at are the root's thread, kept by the writes (a reply adds, deleting
-- a reply takes away), so a history page never counts replies.
-- mentions: the members the text named with @user_name when it was posted, resolved then (a name
-- that changes or a member who leaves later does not change what the message mentioned).
alter table messages
  add column reply_to uuid,
  add column reply_count integer not null default 0,
  add column last_reply_at timestamptz,
  add column mentions uuid[] not null default '{}';

-- A thread page is a keyset scan of one root's replies in seq order.
create index messages_reply_to_idx on messages (reply_to, seq) where reply_to is not null;

-- One row per user, message and emoji: reacting twice is the same row (idempotent by the key).
-- A message's reactions go with it; a user's go with their account.
create table message_reactions (
  message_id uuid not null references messages (id) on delete cascade,
  emoji text not null,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (message_id, emoji, user_id)
);

-- Messages by others after last_read_seq that mention the member, kept by the writes as
-- unread_count is (0008), so a chat list never scans history for mentions.
alter table chat_members add column mention_count integer not null default 0;
