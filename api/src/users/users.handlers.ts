import type { Handler } from '../http/handler-types.ts';
import type { UsersService } from './users.service.ts';

export function usersHandlers(users: UsersService): {
  listUsers: Handler<'listUsers'>;
  getMe: Handler<'getMe'>;
  updateMe: Handler<'updateMe'>;
  getUser: Handler<'getUser'>;
} {
  return {
    listUsers: async ({ query }) => ({
      status: 200,
      body: await users.search({
        ...(query.user_name !== undefined && { userName: query.user_name }),
        ...(query.user_name_prefix !== undefined && { userNamePrefix: query.user_name_prefix }),
        orderBy: query.order_by ?? 'user_name',
        order: query.order ?? 'asc',
        limit: query.limit ?? 20,
        offset: query.offset ?? 0,
      }),
    }),
    getMe: async ({ actor }) => ({ status: 200, body: await users.me(actor) }),
    updateMe: async ({ actor, body }) => ({
      status: 200,
      body: await users.setDisplayName(actor, body.display_name),
    }),
    getUser: async ({ params }) => ({ status: 200, body: await users.get(params.user_id) }),
  };
}
