-- 0007: user names that look the same are the same name. `alice`, `ALICE`, `alice ` and the
-- full-width `ａlice` were four accounts; now a name's key is its NFKC form, trimmed, lower-cased,
-- and two accounts cannot share a key. The app stores new names NFKC-normalised and trimmed and
-- computes the key with this same expression, so SQL is the one definition of "the same name".
-- Frozen once landed: change the schema in a new numbered file.

alter table users add column name_key text;

-- Existing look-alikes: the oldest account keeps the key; later ones keep their exact name (they
-- can still log in with it) but no key, so no new look-alike can be registered.
update users u
set name_key = k.key
from (
  select id, lower(normalize(btrim(user_name), NFKC)) as key,
         row_number() over (partition by lower(normalize(btrim(user_name), NFKC)) order by created_at, id) as n
  from users
) k
where u.id = k.id and k.n = 1;

create unique index users_name_key_key on users (name_key);
