-- 0005: users (profiles, finding people), sessions (ending them all), the inbox.
-- Frozen once landed: change the schema in a new numbered file.

-- A password change ends the user's other sessions, and logout-all all of them: record why.
-- 0001 is frozen, so its check constraint is dropped and re-added with the new reasons.
alter table sessions drop constraint sessions_end_reason;
alter table sessions add constraint sessions_end_reason
  check (end_reason in ('logout', 'expired', 'logout-all', 'password-changed'));

-- Display names: the contract's limits (1 to 100 characters), kept by the database too.
alter table users add constraint users_display_name_length
  check (display_name is null or char_length(display_name) between 1 and 100);

-- GET /v1/users?user_name_prefix= is `user_name like 'pre%'`. users_user_name_key (0001) sorts by
-- the database's collation, which a LIKE prefix cannot use unless that collation is "C";
-- text_pattern_ops compares byte-wise, so the prefix becomes an index range scan on any collation.
create index users_user_name_pattern_idx on users (user_name text_pattern_ops);
-- order_by=created_at pages in that order (id breaks ties) without sorting the whole table.
create index users_created_at_idx on users (created_at, id);

-- The inbox scans each of the caller's chats backwards from its newest message and stops at the
-- age limit: (chat_id, seq) cannot stop at a time, (user_id) is the wrong side of the question.
create index messages_chat_id_created_at_idx on messages (chat_id, created_at, id);
