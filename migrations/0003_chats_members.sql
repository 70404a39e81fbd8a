-- 0003: members and roles, direct chats (issue 5), the same file on PostgreSQL 15 and PGlite.
-- Frozen once landed: change the schema in a new numbered file.

-- A direct chat's pair, as the two user ids sorted and joined by ':'; null for group chats.
-- Unique, so the database itself refuses a second direct chat for the same pair: two first
-- messages sent at the same moment both insert ... on conflict do nothing, and the one that loses
-- waits for the winner to commit and then reads its chat. (Nulls are distinct: any number of
-- group chats.)
alter table chats add column direct_key text;
create unique index chats_direct_key_key on chats (direct_key);
alter table chats add constraint chats_direct_key_kind check ((kind = 'direct') = (direct_key is not null));

-- Members in the order they joined: member pages are keyset scans of it, and "the
-- longest-standing member" (who becomes owner when the last owner leaves) is its first row.
create index chat_members_chat_id_joined_at_idx on chat_members (chat_id, joined_at, user_id);
