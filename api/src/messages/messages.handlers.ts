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
  };
}
