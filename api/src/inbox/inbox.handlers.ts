import type { Handler } from '../http/handler-types.ts';
import type { InboxService } from './inbox.service.ts';

export function inboxHandlers(inbox: InboxService): {
  listRecentMessages: Handler<'listRecentMessages'>;
} {
  return {
    listRecentMessages: async ({ caller, query }) => ({
      status: 200,
      body: await inbox.recent(caller, query.user_id, query.sender, query.limit),
    }),
  };
}
