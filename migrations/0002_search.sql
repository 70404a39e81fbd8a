-- 0002: full-text search over messages (issue 3), the same file on PostgreSQL 15 and PGlite.
-- Frozen once landed: change the schema in a new numbered file.
--
-- Text-search configurations. One stored tsvector per message, three configurations
-- concatenated, each under its own weight so that a query can say which one it means:
--   A  english  English stems: "running", "runs" and "run" are all 'run'; English stop words dropped.
--   B  russian  Russian stems: "сообщения" and "сообщение" are both 'сообщен'.
--   C  simple   every token as written, lowercased, nothing dropped: stop words ("the", "to be or
--               not to be"), e-mail addresses, URLs with their host and path, hyphenated words
--               whole and each of their parts, numbers.
-- No single built-in configuration does all three: english and russian drop stop words and stem
-- only their own alphabet, and simple stems nothing. All three use the default parser, so an
-- e-mail address, a URL or "state-of-the-art" is the same token (plus parts) in each, and each
-- lowercases, so case never matters.
--
-- Matching (consumer/src/search/search.repository.ts): a word of the phrase matches its English
-- stem (A), its Russian stem (B), or a token (C) it equals or, from 3 characters, starts with
-- ("mess" finds "message"); every word must match. A word that matches nothing on its own is
-- corrected against the vocabulary below: up to 2 edits for a word of 5+ letters (1 for 4).
--
-- GiST, as the issue asks: cheaper to keep up than GIN under a stream of inserts, and lossy, so
-- every row it returns is rechecked. It keeps lexemes hashed and cannot answer a prefix (it would
-- return every row), so the query replaces a prefix by the tokens of the vocabulary that start
-- with it, which it can answer.

create extension if not exists pg_trgm;
-- levenshtein: trigram similarity alone misses transpositions ("wrold" and "world" share 2 of
-- their 10 trigrams), so edit distance decides what is a typo.
create extension if not exists fuzzystrmatch;

-- A generated column is computed for the rows already there when it is added.
alter table messages
  add column search_vector tsvector generated always as (
    setweight(to_tsvector('english'::regconfig, text), 'A')
    || setweight(to_tsvector('russian'::regconfig, text), 'B')
    || setweight(to_tsvector('simple'::regconfig, text), 'C')
  ) stored;

create index messages_search_vector_idx on messages using gist (search_vector);

-- The vocabulary: every distinct token (lexeme of the simple configuration) ever written. Sorted
-- by code point (collation "C"), so that the tokens starting with a prefix are one range of the
-- primary key; its words of 5 to 32 characters have a trigram index for typo corrections.
-- Global, and it only grows: a token stays when its message is edited or deleted. That is
-- harmless, since completions and corrections only widen a query that still runs over the
-- caller's own messages.
create table search_words (
  word text collate "C" primary key
);
-- Without a pending list (fastupdate): new words are rare once the vocabulary has grown, and a
-- pending list would be read whole by every lookup until vacuum flushes it.
create index search_words_word_trgm_idx on search_words using gin (word gin_trgm_ops)
  with (fastupdate = off)
  where char_length(word) between 5 and 32;

create function search_words_collect() returns trigger
language plpgsql as $$
begin
  -- In order, so that two transactions adding the same new tokens cannot deadlock.
  insert into search_words (word)
  select distinct w.word
  from new_rows n
  cross join lateral unnest(tsvector_to_array(to_tsvector('simple'::regconfig, n.text))) as w (word)
  order by 1
  on conflict (word) do nothing;
  return null;
end
$$;

-- Per statement, with the statement's rows as a table: a bulk insert parses and inserts once.
-- (A trigger with a transition table takes one event, hence two.)
create trigger messages_search_words_insert
  after insert on messages
  referencing new table as new_rows
  for each statement execute function search_words_collect();
create trigger messages_search_words_update
  after update on messages
  referencing new table as new_rows
  for each statement execute function search_words_collect();

insert into search_words (word)
select distinct w.word
from messages m
cross join lateral unnest(tsvector_to_array(to_tsvector('simple'::regconfig, m.text))) as w (word)
on conflict (word) do nothing;
