-- 0011: search that finds what people mean (issue 14), the same file on PostgreSQL 15 and PGlite.
-- Frozen once landed: change the schema in a new numbered file.
--
-- 1. The parts of glued tokens. The default parser keeps an e-mail address, a host, a path or
--    "and/or" as one token, so "site" did not find "tjimenez@site.gmu.edu", "run" not "acct.run",
--    "or" not "and/or". The document vector gains a fourth part, weight D: the words inside such
--    tokens (search_glued_parts below). The whole tokens stay in C, so whole-token matches work as
--    before; the query asks for C or D when it means "this word as written".
--
-- 2. Per-chat word counts (search_chat_words). Corrections are chosen by how often the caller's own
--    chats use a word, and a prefix is narrowed by its most frequent completions there. Counts are
--    kept per chat rather than globally because every post would otherwise update the row of "the"
--    in one global table and hold its lock until commit: posts in every chat would queue behind one
--    another. Posts to one chat already queue on the chat row (0001), so a per-chat row adds no
--    wait. Per chat also answers "in the caller's reachable messages" exactly: the sum over the
--    caller's chats, never a word only someone else's chat holds.
--
-- The document index stays tsvector/GiST (the design card asks for it): it answers whole lexemes.
-- A prefix is turned into whole lexemes by search_chat_words (a primary-key range per chat of the
-- caller), most frequent first and bounded, so a prefix costs one GiST scan of a few lexemes, not
-- one query that ORs every completion of the vocabulary (issue 14: "оста", 87 completions, 171 ms).

-- On a database that already holds messages, this file makes every message's vector again and
-- counts every token of every message: minutes at 1,000,000 messages, in the runner's one
-- transaction. A statement timeout of the connection's role or database (a production server may
-- set one) cancelled it at 200,000 messages; it is lifted here, for this transaction only (SET
-- LOCAL), because a migration that stops halfway is rolled back and would be cancelled again at
-- the next start. (The runner's own connection has no timeout: shared/src/db/migrate.ts.)
set local statement_timeout = 0;

-- The words inside glued tokens: every run of non-space characters that holds one of @ . / \ : _
-- is kept (the others are blanked) and those characters become spaces, so the simple parser then
-- reads "tjimenez site gmu edu". Immutable, so a generated column can use it. ([^[:space:]] is a
-- non-space in every locale; lookbehind and lookahead keep a word's neighbours out of the match.)
create function search_glued_parts(body text) returns text
language sql immutable strict parallel safe
return translate(
  regexp_replace(body, '(?<![^[:space:]])[^[:space:]@./\\:_]+(?![^[:space:]])', ' ', 'g'),
  '@./\:_', '      ');

-- Every token a message is searchable by: the simple configuration's tokens and the glued parts.
create function search_tokens(body text) returns text[]
language sql immutable strict parallel safe
return tsvector_to_array(to_tsvector('simple'::regconfig, body)
  || to_tsvector('simple'::regconfig, search_glued_parts(body)));

-- A generated expression cannot be altered on PostgreSQL 15: the column is made again (its GiST
-- index goes with it and is made again below).
alter table messages drop column search_vector;
alter table messages
  add column search_vector tsvector generated always as (
    setweight(to_tsvector('english'::regconfig, text), 'A')
    || setweight(to_tsvector('russian'::regconfig, text), 'B')
    || setweight(to_tsvector('simple'::regconfig, text), 'C')
    || setweight(to_tsvector('simple'::regconfig, search_glued_parts(text)), 'D')
  ) stored;
create index messages_search_vector_idx on messages using gist (search_vector);

-- How many messages of each chat hold each token. Rows that fall to 0 stay (an edit or a delete);
-- readers skip them. The primary key sorts words by code point, so a prefix is one range per chat.
create table search_chat_words (
  chat_id uuid not null references chats (id) on delete cascade,
  word text collate "C" not null,
  messages integer not null,
  primary key (chat_id, word)
);

-- Adds `delta` per message for every token of these rows, in key order, so that two transactions
-- touching the same rows lock them in the same order and cannot deadlock.
create function search_chat_words_add_new() returns trigger
language plpgsql as $$
begin
  insert into search_chat_words (chat_id, word, messages)
  select n.chat_id, w.word, count(*)
  from new_rows n
  cross join lateral unnest(search_tokens(n.text)) as w (word)
  group by 1, 2
  order by 1, 2
  on conflict (chat_id, word) do update set messages = search_chat_words.messages + excluded.messages;
  return null;
end
$$;

-- Deletes subtract; an UPDATE (not an insert), since a chat being deleted takes its messages (and
-- these rows) with it and cannot take new rows. Locked in key order first, as above.
create function search_chat_words_remove_old() returns trigger
language plpgsql as $$
begin
  perform 1
  from search_chat_words s
  join (
    select distinct o.chat_id, w.word
    from old_rows o
    cross join lateral unnest(search_tokens(o.text)) as w (word)
  ) d on d.chat_id = s.chat_id and d.word = s.word
  order by s.chat_id, s.word
  for update of s;
  update search_chat_words s set messages = s.messages - d.n
  from (
    select o.chat_id, w.word, count(*)::integer as n
    from old_rows o
    cross join lateral unnest(search_tokens(o.text)) as w (word)
    group by 1, 2
  ) d
  where d.chat_id = s.chat_id and d.word = s.word;
  return null;
end
$$;

create trigger messages_search_chat_words_insert
  after insert on messages
  referencing new table as new_rows
  for each statement execute function search_chat_words_add_new();
-- An update: only rows whose text changed (an edit) count again, the old text's tokens out and
-- the new text's in. Replies update their root's reply_count (0009): those rows are skipped.
create function search_chat_words_edit() returns trigger
language plpgsql as $$
begin
  perform 1
  from search_chat_words s
  join (
    select distinct o.chat_id, w.word
    from old_rows o
    join new_rows n on n.id = o.id and n.text is distinct from o.text
    cross join lateral unnest(search_tokens(o.text)) as w (word)
  ) d on d.chat_id = s.chat_id and d.word = s.word
  order by s.chat_id, s.word
  for update of s;
  update search_chat_words s set messages = s.messages - d.n
  from (
    select o.chat_id, w.word, count(*)::integer as n
    from old_rows o
    join new_rows n on n.id = o.id and n.text is distinct from o.text
    cross join lateral unnest(search_tokens(o.text)) as w (word)
    group by 1, 2
  ) d
  where d.chat_id = s.chat_id and d.word = s.word;
  insert into search_chat_words (chat_id, word, messages)
  select n.chat_id, w.word, count(*)
  from new_rows n
  join old_rows o on o.id = n.id and o.text is distinct from n.text
  cross join lateral unnest(search_tokens(n.text)) as w (word)
  group by 1, 2
  order by 1, 2
  on conflict (chat_id, word) do update set messages = search_chat_words.messages + excluded.messages;
  return null;
end
$$;

create trigger messages_search_chat_words_update
  after update on messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function search_chat_words_edit();
create trigger messages_search_chat_words_delete
  after delete on messages
  referencing old table as old_rows
  for each statement execute function search_chat_words_remove_old();

insert into search_chat_words (chat_id, word, messages)
select m.chat_id, w.word, count(*)
from messages m
cross join lateral unnest(search_tokens(m.text)) as w (word)
group by 1, 2;

-- The global vocabulary (0002) finds typo candidates: it gains the glued parts too.
create or replace function search_words_collect() returns trigger
language plpgsql as $$
begin
  insert into search_words (word)
  select distinct w.word
  from new_rows n
  cross join lateral unnest(search_tokens(n.text)) as w (word)
  order by 1
  on conflict (word) do nothing;
  return null;
end
$$;

insert into search_words (word)
select distinct w.word
from messages m
cross join lateral unnest(search_tokens(m.text)) as w (word)
on conflict (word) do nothing;
