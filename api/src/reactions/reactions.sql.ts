import { sql, type RawBuilder } from 'kysely';
import type { Reaction } from '../schemas.ts';

/**
 * A message's reactions as one JSON array, for a select list: [{emoji, count, me}], one entry per
 * distinct emoji, in the order each was first used. A correlated subquery on the reactions' primary
 * key, so a history page stays one statement however many messages it holds (no query per message).
 * `me` is whether `viewer` reacted; with no viewer (events, an anonymous AUTH_DISABLED read) false.
 */
export function reactionsOf(
  messageId: RawBuilder<unknown>,
  viewer: string | undefined,
): RawBuilder<Reaction[]> {
  return sql<Reaction[]>`(
    select coalesce(
      json_agg(json_build_object('emoji', r.emoji, 'count', r.n, 'me', r.me) order by r.first_at, r.emoji),
      '[]'::json)
    from (
      select emoji, count(*)::int as n, coalesce(bool_or(user_id = ${viewer ?? null}::uuid), false) as me,
             min(created_at) as first_at
      from message_reactions
      where message_id = ${messageId}
      group by emoji
    ) r
  )`;
}
