import type { Handler } from '../http/handler-types.ts';
import type { Idempotent } from '../http/idempotency.ts';
import type { DirectService } from './direct.service.ts';

export function directHandlers(
  direct: DirectService,
  idempotent: Idempotent,
): {
  postDirectMessage: Handler<'postDirectMessage'>;
  listDirectMessages: Handler<'listDirectMessages'>;
} {
  return {
    postDirectMessage: ({ caller, query, params, body, koa }) =>
      idempotent(koa, caller, body, async () => ({
        status: 201 as const,
        body: await direct.send(caller, query.user_id, params.user_name, body.message),
      })),
    listDirectMessages: async ({ caller, query, params }) => {
      const page = await direct.history(
        caller,
        query.user_id,
        params.user_name,
        query.limit,
        query.from,
        query.order ?? 'asc',
      );
      return { status: 200, body: page.body };
    },
  };
}
