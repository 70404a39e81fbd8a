-- 0004: edited and deleted messages, attachments (issue 5), the same file on PostgreSQL 15 and PGlite.
-- Frozen once landed: change the schema in a new numbered file.
--
-- Edits rewrite `text` in place: the generated search_vector (0002) is recomputed by the UPDATE and
-- the vocabulary trigger on update collects the new words, so searches see the new text and not the
-- old. Deletes remove the row (and with it its search_vector): nothing keeps a deleted message's
-- text. A chat's other messages keep their seqs; history pages are keyset scans and skip the gap.

-- null until the author first edits the text.
alter table messages add column edited_at timestamptz;

-- The attachments as the API validated them (openapi.yaml, Attachment), in order: a JSON array of
-- objects with a `type`. Read back whole with the message and never queried inside, so jsonb
-- without an index. A default rather than null: every existing message has none, and readers need
-- not tell "none" from "unknown".
alter table messages add column attachments jsonb not null default '[]'::jsonb;

-- A message of attachments only stores an empty text (the API's `text` stays a string for old
-- clients); a message with neither is refused here too, whatever writes it.
alter table messages
  add constraint messages_attachments_array check (jsonb_typeof(attachments) = 'array'),
  add constraint messages_not_empty check (text <> '' or jsonb_array_length(attachments) > 0);
