import { AppError } from '@messenger/shared';
import type { Handler } from '../http/handler-types.ts';
import type { AuthService } from './auth.service.ts';

export function authHandlers(auth: AuthService): {
  register: Handler<'register'>;
  login: Handler<'login'>;
  logout: Handler<'logout'>;
  changePassword: Handler<'changePassword'>;
  logoutAll: Handler<'logoutAll'>;
  listSessions: Handler<'listSessions'>;
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
    // AUTH_DISABLED mode has no sessions and checks no passwords: see openapi.yaml.
    changePassword: async ({ caller, body }) => {
      if (caller.kind !== 'session') {
        throw new AppError('forbidden', 'passwords cannot be changed with AUTH_DISABLED=true');
      }
      const ended = await auth.changePassword(caller, body.old_password, body.new_password);
      return { status: 200, body: { ok: true, ended_sessions: ended } };
    },
    logoutAll: async ({ caller }) => ({
      status: 200,
      body: { ok: true, ended_sessions: caller.kind === 'session' ? await auth.logoutAll(caller) : 0 },
    }),
    listSessions: async ({ caller }) => ({
      status: 200,
      body: { sessions: caller.kind === 'session' ? await auth.activeSessions(caller) : [] },
    }),
  };
}
