import type { Handler } from '../http/handler-types.ts';
import type { Idempotent } from '../idempotency/idempotency.ts';
import { serialized } from '../messages/messages.handlers.ts';
import type { DirectMessageSent, MessagePage } from '../schemas.ts';
import type { DirectService } from './direct.service.ts';

const created = (sent: DirectMessageSent) => ({ status: 201 as const, body: sent });

export function directHandlers(
  direct: DirectService,
  idempotent: Idempotent,
): {
  postDirectMessage: Handler<'postDirectMessage'>;
  listDirectMessages: Handler<'listDirectMessages'>;
} {
  return {
    postDirectMessage: ({ actor, params, body, koa }) =>
      // The reply is recorded with the Idempotency-Key in the statement that stores the message.
      idempotent(koa, actor, body, async (record) =>
        created(await direct.send(actor, params.user_name, body.message, { record, reply: created })),
      ),
    listDirectMessages: async ({ actor, query, params }) => {
      const page = await direct.history(
        actor,
        params.user_name,
        query.limit,
        query.from,
        query.order ?? 'asc',
      );
      return { status: 200, ...serialized<MessagePage>(page.bytes) };
    },
  };
}
