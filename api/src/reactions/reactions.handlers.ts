import type { Handler } from '../http/handler-types.ts';
import type { ReactionsService } from './reactions.service.ts';

export function reactionsHandlers(reactions: ReactionsService): {
  addReaction: Handler<'addReaction'>;
  removeReaction: Handler<'removeReaction'>;
} {
  return {
    addReaction: async ({ actor, params }) => ({
      status: 200,
      body: await reactions.add(actor, params.chat_id, params.message_id, params.emoji),
    }),
    removeReaction: async ({ actor, params }) => ({
      status: 200,
      body: await reactions.remove(actor, params.chat_id, params.message_id, params.emoji),
    }),
  };
}
