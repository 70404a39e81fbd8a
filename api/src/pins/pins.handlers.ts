import type { Handler } from '../http/handler-types.ts';
import type { PinsService } from './pins.service.ts';

export function pinsHandlers(pins: PinsService): {
  listPins: Handler<'listPins'>;
  pinMessage: Handler<'pinMessage'>;
  unpinMessage: Handler<'unpinMessage'>;
} {
  return {
    listPins: async ({ actor, params }) => ({ status: 200, body: await pins.list(actor, params.chat_id) }),
    pinMessage: async ({ actor, params }) => ({
      status: 200,
      body: await pins.pin(actor, params.chat_id, params.message_id),
    }),
    unpinMessage: async ({ actor, params }) => {
      await pins.unpin(actor, params.chat_id, params.message_id);
      return { status: 204, body: undefined };
    },
  };
}
