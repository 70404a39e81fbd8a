import type { Handler } from '../http/handler-types.ts';
import type { ChatsService } from './chats.service.ts';

export function chatsHandlers(chats: ChatsService): {
  createChat: Handler<'createChat'>;
  listChats: Handler<'listChats'>;
  addChatUser: Handler<'addChatUser'>;
} {
  return {
    createChat: async ({ caller, query, body }) => ({
      status: 201,
      body: { chat_id: await chats.create(caller, query.user_id, body.chat_name) },
    }),
    listChats: async ({ caller, query }) => ({
      status: 200,
      body: await chats.list(caller, query.user_id, query.limit, query.from),
    }),
    addChatUser: async ({ caller, query, params, body }) => ({
      status: 201,
      body: { user_id: await chats.addUser(caller, query.user_id, params.chat_id, body.user_name) },
    }),
  };
}
