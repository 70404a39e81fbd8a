import type { Handler } from '../http/handler-types.ts';
import type { AuthService } from './auth.service.ts';

export function authHandlers(auth: AuthService): {
  register: Handler<'register'>;
  login: Handler<'login'>;
  logout: Handler<'logout'>;
} {
  return {
    register: async ({ body }) => ({
      status: 201,
      body: { user_id: await auth.register(body.user_name, body.password) },
    }),
    login: async ({ body, koa }) => {
      const session = await auth.login(body.user_name, body.password, koa.get('user-agent') || null);
      return {
        status: 200,
        body: { session_id: session.token, expires_at: session.expiresAt.toISOString() },
      };
    },
    logout: async ({ caller }) => {
      if (caller.kind === 'session') await auth.logout(caller);
      return { status: 200, body: { ok: true } };
    },
  };
}
