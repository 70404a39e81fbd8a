import type { Handler } from '../http/handler-types.ts';
import type { Idempotent } from '../idempotency/idempotency.ts';
import type { MessagePage } from '../schemas.ts';
import type { MessagesService } from './messages.service.ts';

/**
 * A body already serialised to the contract's JSON (a history page as cached): Koa sends the bytes
 * as they are. Typed as the body it holds, which it was made from.
 */
export const serialized = <T>(bytes: Buffer): { body: T; type: 'application/json' } => ({
  body: bytes as unknown as T,
  type: 'application/json',
});

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
  listReplies: Handler<'listReplies'>;
} {
  return {
    // The reply is recorded with the Idempotency-Key in the statement that stores the messages.
    postMessage: ({ actor, params, body, koa }) =>
      idempotent(koa, actor, body, async (record) =>
        created(await messages.post(actor, params.chat_id, body, { record, reply: ([id]) => created(id!) })),
      ),
    postMessageBatch: ({ actor, params, body, koa }) =>
      idempotent(koa, actor, body, async (record) =>
        createdBatch(
          await messages.postBatch(actor, params.chat_id, body.messages, { record, reply: createdBatch }),
        ),
      ),
    listMessages: async ({ actor, query, params, koa }) => {
      const page = await messages.history(
        actor,
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
      return { status: 200, ...serialized<MessagePage>(page.bytes), headers };
    },
    editMessage: async ({ actor, params, body }) => ({
      status: 200,
      body: await messages.edit(actor, params.chat_id, params.message_id, body.message),
    }),
    listReplies: async ({ actor, params, query }) => ({
      status: 200,
      body: await messages.replies(actor, params.chat_id, params.message_id, query.limit, query.from),
    }),
    deleteMessage: async ({ actor, params }) => {
      await messages.delete(actor, params.chat_id, params.message_id);
      return { status: 204, body: undefined };
    },
  };
}
