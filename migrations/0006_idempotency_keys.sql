-- 0006: Idempotency-Key records in PostgreSQL, the same file on PostgreSQL and PGlite.
-- Frozen once landed: change the schema in a new numbered file.
--
-- Redis alone cannot keep "a retry stores nothing": flushed, restarted without its data, or down, it
-- forgets the key, and an API instance that dies between its commit and its Redis write never tells
-- it. So each key is written here in the same transaction as the messages its request created: the
-- two commit together or not at all, and the primary key makes the database the arbiter between
-- duplicates that Redis let through (the second insert waits for the first transaction and finds
-- the key taken). Redis stays the fast path; this table is what it falls back on.
create table idempotency_keys (
  -- Whose key: 'u:<user id>' for a session, 't:<?user_id=>' in AUTH_DISABLED mode.
  scope text not null,
  -- As the client sent it (openapi.yaml IdempotencyKey: 1 to 255 printable ASCII characters).
  key text not null,
  -- SHA-256 of the method, path and canonical body: a repeat with another request is 409.
  fingerprint text not null,
  -- The reply the request got, answered again to every repeat.
  status smallint not null,
  body jsonb,
  created_at timestamptz not null default now(),
  -- A record past this is never replayed; a periodic cleanup deletes it.
  expires_at timestamptz not null,
  primary key (scope, key),
  constraint idempotency_keys_key_length check (char_length(key) between 1 and 255),
  constraint idempotency_keys_expiry check (expires_at > created_at)
);

-- The cleanup deletes expired records oldest first, in bounded batches.
create index idempotency_keys_expires_at_idx on idempotency_keys (expires_at);
