import type { Handler } from '../http/handler-types.ts';
import type { ChatsService } from './chats.service.ts';

export function chatsHandlers(chats: ChatsService): {
  createChat: Handler<'createChat'>;
  listChats: Handler<'listChats'>;
  getChat: Handler<'getChat'>;
  deleteChat: Handler<'deleteChat'>;
  addChatUser: Handler<'addChatUser'>;
  listChatUsers: Handler<'listChatUsers'>;
  removeChatUser: Handler<'removeChatUser'>;
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
    getChat: async ({ caller, query, params }) => ({
      status: 200,
      body: await chats.details(caller, query.user_id, params.chat_id),
    }),
    deleteChat: async ({ caller, query, params }) => {
      await chats.delete(caller, query.user_id, params.chat_id);
      return { status: 204, body: undefined };
    },
    addChatUser: async ({ caller, query, params, body }) => ({
      status: 201,
      body: { user_id: await chats.addUser(caller, query.user_id, params.chat_id, body.user_name) },
    }),
    listChatUsers: async ({ caller, query, params }) => ({
      status: 200,
      body: await chats.members(caller, query.user_id, params.chat_id, query.limit, query.from),
    }),
    removeChatUser: async ({ caller, query, params }) => {
      await chats.removeUser(caller, query.user_id, params.chat_id, params.user_id);
      return { status: 204, body: undefined };
    },
  };
}
