import type { Handler } from '../http/handler-types.ts';
import type { InboxService } from './inbox.service.ts';

export function inboxHandlers(inbox: InboxService): {
  listRecentMessages: Handler<'listRecentMessages'>;
} {
  return {
    listRecentMessages: async ({ actor, query }) => ({
      status: 200,
      body: await inbox.recent(actor, query.sender, query.limit),
    }),
  };
}
