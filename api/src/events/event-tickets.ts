import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '@messenger/shared';
import type { EventTicket } from '../schemas.ts';
import type { StreamOwner } from './event-stream.ts';

/** How long a ticket may wait to be used. */
export const TICKET_TTL_SECONDS = 60;

const keyOf = (ticket: string) => `event-ticket:${createHash('sha256').update(ticket).digest('hex')}`;

/**
 * Single-use tickets that open an event stream in place of the Authorization header (a browser's
 * EventSource cannot send one, and a token must not travel in a URL). Kept in the store, hashed,
 * so every instance redeems them and a leaked store key opens nothing.
 */
export class EventTickets {
  constructor(private readonly store: Store) {}

  async issue(owner: StreamOwner): Promise<EventTicket> {
    const ticket = randomBytes(24).toString('base64url');
    await this.store.set(keyOf(ticket), JSON.stringify(owner), TICKET_TTL_SECONDS);
    return { ticket, expires_at: new Date(Date.now() + TICKET_TTL_SECONDS * 1000).toISOString() };
  }

  /** The owner the ticket was issued to, once: a second redemption (or a stale one) answers undefined. */
  async redeem(ticket: string): Promise<StreamOwner | undefined> {
    const key = keyOf(ticket);
    const value = await this.store.get(key);
    // Whoever deletes the key is the one redemption; a concurrent second one deletes nothing.
    if (value === null || (await this.store.del(key)) !== 1) return undefined;
    return JSON.parse(value) as StreamOwner;
  }
}
