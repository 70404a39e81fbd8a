/** What the Idempotency-Key tests share: the request they repeat and where they look for its record. */
import { createHash } from 'node:crypto';
import type { TestContext, TestUser } from './test-context.ts';

/** The store's key for an Idempotency-Key (api/src/idempotency/idempotency.ts): `u:<user>` or `t:<user_id>`. */
export const storeKeyOf = (scope: string, key: string) =>
  `idempotency:${createHash('sha256').update(`${scope}\n${key}`).digest('base64url')}`;

/** A JSON POST to `path` as `user` through `ctx` (one API instance), with the key when one is given. */
export const sendWithKey = (
  ctx: TestContext,
  user: TestUser,
  key: string | undefined,
  path: string,
  body: unknown,
) =>
  ctx.raw('POST', path, {
    headers: {
      authorization: `session_id ${user.token}`,
      'content-type': 'application/json',
      ...(key !== undefined && { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });

/** What Redis loses in a flush, for this one key only: the shared Redis is never flushed. */
export const forgetKey = (ctx: TestContext, scope: string, key: string) =>
  ctx.store.del(storeKeyOf(scope, key));

/** How many records PostgreSQL holds for a key (0 or 1). */
export async function keyRows(ctx: TestContext, scope: string, key: string): Promise<number> {
  const row = await ctx.database.db
    .selectFrom('idempotency_keys')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
