import type { Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { EventLog, NewEvent } from './event-log.ts';

/**
 * What services see of the stream: events appended in the transaction of their change, and an
 * announcement once it has committed, so every instance's hub reads them at once.
 */
export class EventPublisher {
  constructor(
    private readonly log: EventLog,
    private readonly announce: () => void,
  ) {}

  append(trx: Transaction<DB>, events: NewEvent[]): Promise<void> {
    return this.log.append(trx, events);
  }

  /** The `message.created` events of messages this transaction stored. */
  appendCreated(trx: Transaction<DB>, messageIds: string[]): Promise<void> {
    return this.log.appendCreated(trx, messageIds);
  }

  /** Call after the transaction that appended events has committed. */
  committed(): void {
    this.announce();
  }
}
