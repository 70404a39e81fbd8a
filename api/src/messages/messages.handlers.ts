import type { Handler } from '../http/handler-types.ts';
import type { MessagesService } from './messages.service.ts';

export function messagesHandlers(messages: MessagesService): {
  postMessage: Handler<'postMessage'>;
  listMessages: Handler<'listMessages'>;
} {
  return {
    postMessage: async ({ caller, query, params, body }) => ({
      status: 201,
      body: { message_id: await messages.post(caller, query.user_id, params.chat_id, body.message) },
    }),
    listMessages: async ({ caller, query, params }) => ({
      status: 200,
      body: await messages.history(
        caller,
        query.user_id,
        params.chat_id,
        query.limit,
        query.from,
        query.order ?? 'asc',
      ),
    }),
  };
}
