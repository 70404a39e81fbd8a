import type { Handler } from '../http/handler-types.ts';
import type { Idempotent } from '../idempotency/idempotency.ts';
import type { MessagesService } from './messages.service.ts';

const created = (messageId: string) => ({ status: 201 as const, body: { message_id: messageId } });
const createdBatch = (messageIds: string[]) => ({ status: 201 as const, body: { message_ids: messageIds } });

export function messagesHandlers(
  messages: MessagesService,
  idempotent: Idempotent,
): {
  postMessage: Handler<'postMessage'>;
  postMessageBatch: Handler<'postMessageBatch'>;
  listMessages: Handler<'listMessages'>;
  editMessage: Handler<'editMessage'>;
  deleteMessage: Handler<'deleteMessage'>;
} {
  return {
    // The reply is recorded with the Idempotency-Key in the transaction that stores the messages.
    postMessage: ({ caller, query, params, body, koa }) =>
      idempotent(koa, caller, body, async (record) =>
        created(
          await messages.post(caller, query.user_id, params.chat_id, body, (trx, [id]) =>
            record(trx, created(id!)),
          ),
        ),
      ),
    postMessageBatch: ({ caller, query, params, body, koa }) =>
      idempotent(koa, caller, body, async (record) =>
        createdBatch(
          await messages.postBatch(caller, query.user_id, params.chat_id, body.messages, (trx, ids) =>
            record(trx, createdBatch(ids)),
          ),
        ),
      ),
    listMessages: async ({ caller, query, params, koa }) => {
      const page = await messages.history(
        caller,
        query.user_id,
        params.chat_id,
        query.limit,
        query.from,
        query.order ?? 'asc',
      );
      const headers = { ETag: page.etag };
      const known = koa.get('if-none-match');
      if (known && known.split(',').some((tag) => tag.trim().replace(/^W\//, '') === page.etag)) {
        return { status: 304, body: undefined, headers };
      }
      return { status: 200, body: page.body, headers };
    },
    editMessage: async ({ caller, query, params, body }) => ({
      status: 200,
      body: await messages.edit(caller, query.user_id, params.chat_id, params.message_id, body.message),
    }),
    deleteMessage: async ({ caller, query, params }) => {
      await messages.delete(caller, query.user_id, params.chat_id, params.message_id);
      return { status: 204, body: undefined };
    },
  };
}
