import type { Handler } from '../http/handler-types.ts';
import type { ChatsService } from './chats.service.ts';
import type { MembersService } from './members.service.ts';

export function chatsHandlers(
  chats: ChatsService,
  members: MembersService,
): {
  createChat: Handler<'createChat'>;
  listChats: Handler<'listChats'>;
  getChat: Handler<'getChat'>;
  deleteChat: Handler<'deleteChat'>;
  updateChat: Handler<'updateChat'>;
  addChatUser: Handler<'addChatUser'>;
  listChatUsers: Handler<'listChatUsers'>;
  removeChatUser: Handler<'removeChatUser'>;
} {
  return {
    createChat: async ({ actor, body }) => ({
      status: 201,
      body: { chat_id: await chats.create(actor, body.chat_name) },
    }),
    listChats: async ({ actor, query }) => ({
      status: 200,
      body: await chats.list(actor, query.limit, query.from),
    }),
    getChat: async ({ actor, params }) => ({
      status: 200,
      body: await chats.details(actor, params.chat_id),
    }),
    deleteChat: async ({ actor, params }) => {
      await chats.delete(actor, params.chat_id);
      return { status: 204, body: undefined };
    },
    updateChat: async ({ actor, params, body }) => ({
      status: 200,
      body: await chats.update(actor, params.chat_id, {
        ...(body.chat_name !== undefined && { chatName: body.chat_name }),
        ...(body.topic !== undefined && { topic: body.topic }),
        ...(body.members_can_pin !== undefined && { membersCanPin: body.members_can_pin }),
      }),
    }),
    addChatUser: async ({ actor, params, body }) => ({
      status: 201,
      body: { user_id: await members.addUser(actor, params.chat_id, body.user_name) },
    }),
    listChatUsers: async ({ actor, query, params }) => ({
      status: 200,
      body: await members.members(actor, params.chat_id, query.limit, query.from),
    }),
    removeChatUser: async ({ actor, params }) => {
      await members.removeUser(actor, params.chat_id, params.user_id);
      return { status: 204, body: undefined };
    },
  };
}
