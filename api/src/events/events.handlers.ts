import type { Actor } from '../auth/actor.ts';
import type { Caller } from '../auth/caller.ts';
import type { ReadMarkersService } from '../chats/read-markers.service.ts';
import type { Handler } from '../http/handler-types.ts';
import type { EventHub } from './event-hub.ts';
import type { StreamOwner } from './event-stream.ts';
import type { EventTickets } from './event-tickets.ts';
import type { TypingService } from './typing.service.ts';

/** A cursor we issued is a decimal event id; anything else is answered with a `resync`. */
const CURSOR = /^\d{1,19}$/;

/** Whose stream: the session's (it ends with the session), or the AUTH_DISABLED `user_id`'s. */
function ownerOf(caller: Caller, actor: Actor): StreamOwner {
  return caller.kind === 'session'
    ? { userId: caller.userId, session: { id: caller.sessionId, tokenHash: caller.tokenHash } }
    : { userId: actor.id };
}

export function eventsHandlers(
  hub: EventHub,
  tickets: EventTickets,
  readMarkers: ReadMarkersService,
  typing: TypingService,
): {
  createEventTicket: Handler<'createEventTicket'>;
  streamEvents: Handler<'streamEvents'>;
  markChatRead: Handler<'markChatRead'>;
  sendTyping: Handler<'sendTyping'>;
} {
  return {
    createEventTicket: async ({ caller, actor }) => ({
      status: 201,
      body: await tickets.issue(ownerOf(caller, actor)),
    }),
    streamEvents: async ({ caller, actor, query, koa }) => {
      const owner = ownerOf(caller, actor);
      const given = koa.get('last-event-id') || query.last_event_id;
      const cursor = !given ? undefined : CURSOR.test(given) ? BigInt(given) : 'unknown';
      const stream = await hub.open(owner, cursor);
      // A stream is idle between events: neither Node nor the kernel may take that for a dead peer.
      koa.req.socket.setTimeout(0);
      koa.req.socket.setNoDelay(true);
      koa.req.socket.setKeepAlive(true);
      return {
        status: 200,
        body: stream.body as unknown as string,
        type: 'text/event-stream',
        headers: { 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' },
      };
    },
    markChatRead: async ({ caller, actor, params, body }) => ({
      status: 200,
      body: await readMarkers.markRead(
        actor,
        params.chat_id,
        body.message_id,
        caller.kind === 'session' ? caller.sessionId : undefined,
      ),
    }),
    sendTyping: async ({ actor, params }) => {
      await typing.typing(actor, params.chat_id);
      return { status: 204, body: undefined };
    },
  };
}
