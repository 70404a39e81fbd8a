import { randomUUID } from 'node:crypto';
import type { Bus, Logger, Store } from '@messenger/shared';
import type { EventStream } from './event-stream.ts';

/** Streams past a user's limit (JSON array of `<hub id>:<stream id>`): their hubs end them. */
export const CLOSE_STREAMS_CHANNEL = 'events:close-streams';

/** A user's roster outlives a quiet day at most. */
const ROSTER_TTL_SECONDS = 24 * 3600;
const rosterKey = (userId: string) => `event-streams:${userId}`;

/** The array a bus message holds, or nothing when it holds none. */
export function jsonArray(message: string): unknown[] {
  try {
    const value: unknown = JSON.parse(message);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/**
 * EVENTS_MAX_STREAMS_PER_USER across every API instance: each user's streams are listed in the
 * store oldest first, and the streams an opening one pushes past the limit are ended by the hub
 * that serves them, told over the bus. A hub that dies leaves its entries behind; they are the
 * oldest, so the next opening drops them. While the store does not answer, the hub's own
 * per-instance check still holds.
 */
export class StreamRoster {
  /** Names this hub's streams in the rosters every instance shares. */
  private readonly hubId = randomUUID();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly maxPerUser: number,
    private readonly localStreams: () => Iterable<EventStream>,
  ) {}

  /** Lists a new stream; ends the ones it pushes past the limit, here and on other instances. */
  async add(stream: EventStream): Promise<void> {
    try {
      const dropped = await this.store.addToRoster(
        rosterKey(stream.owner.userId),
        this.memberOf(stream),
        this.maxPerUser,
        ROSTER_TTL_SECONDS,
      );
      if (dropped.length === 0) return;
      const listed = JSON.stringify(dropped);
      this.closeListed(listed);
      await this.bus.publish(CLOSE_STREAMS_CHANNEL, listed);
    } catch (err) {
      this.logger.warn({ err }, 'the stream limit holds per instance only while the store does not answer');
    }
  }

  remove(stream: EventStream): void {
    this.store
      .removeFromRoster(rosterKey(stream.owner.userId), this.memberOf(stream))
      .catch((err: unknown) => this.logger.debug({ err }, 'could not take a stream off its roster'));
  }

  /** Ends this hub's streams among the listed roster members (a bus message). */
  closeListed(message: string): void {
    const listed = new Set(jsonArray(message));
    for (const stream of [...this.localStreams()]) if (listed.has(this.memberOf(stream))) stream.end();
  }

  private memberOf(stream: EventStream): string {
    return `${this.hubId}:${stream.id}`;
  }
}
