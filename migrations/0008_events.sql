-- 0008: the event log of the real-time stream (GET /v1/events) and read positions.
-- Frozen once landed: change the schema in a new numbered file.
--
-- Every change a subscriber may see is written here in the transaction that makes the change, so
-- an event exists exactly when its change committed: none lost when a process dies after its
-- commit, none for a change that rolled back. Writers take one transaction-scoped advisory lock
-- before they insert an event (api/src/events/event-log.ts), so ids commit in id order and a reader
-- that has seen every id up to N never finds a smaller one later: "id > cursor" resumes exactly.
-- Redis only tells the API instances that new ids exist (pub/sub); the log itself is here.
create table events (
  id bigint generated always as identity primary key,
  -- message.*, chat.*: the chat's members at the time of the event see it.
  chat_id uuid not null,
  type text not null,
  data jsonb not null,
  -- The users whose membership the event changes (chat.created: the first members; member_added,
  -- member_removed: that member; chat.deleted: every member), or to whom alone it goes (chat.read).
  user_ids uuid[],
  -- chat.read: the session that moved the marker; the reader's other sessions get the event.
  origin_session uuid,
  created_at timestamptz not null default now()
);

-- Retention deletes the oldest events; a resume older than the oldest kept is answered `resync`.
create index events_created_at_idx on events (created_at);
-- A subscriber that resumes reads its chats' events after its cursor.
create index events_chat_id_idx on events (chat_id, id);

-- Read positions: the newest message a member has read, and how many messages by others are newer.
-- Kept by the writes (a post adds to the others' counts), so a chat list never counts history.
alter table chat_members
  add column last_read_seq bigint not null default 0,
  add column last_read_message_id uuid,
  add column unread_count integer not null default 0;

-- What existed before the stream counts as read.
update chat_members cm
set last_read_seq = c.last_message_seq
from chats c
where c.id = cm.chat_id;
