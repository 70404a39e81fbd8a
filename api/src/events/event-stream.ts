import { PassThrough } from 'node:stream';
import type { LoggedEvent } from './event-log.ts';

export type ResyncReason = 'cursor-too-old' | 'cursor-unknown' | 'too-slow';

export interface StreamOwner {
  userId: string;
  /** The session the stream belongs to (none in AUTH_DISABLED mode): it ends with the session. */
  session?: { id: string; tokenHash: string };
}

/** How long a client should wait before reconnecting (SSE `retry:`), in milliseconds. */
const RETRY_MS = 3_000;

let lastStreamId = 0;

/**
 * One subscriber's `text/event-stream`: formats SSE records, remembers the last event id it wrote
 * (its position) and the chats its user is a member of as of that position, and ends itself when
 * its reader falls too far behind.
 */
export class EventStream {
  readonly id = ++lastStreamId;
  readonly openedAt = Date.now();
  readonly body = new PassThrough();
  /** The id of the last logged event written, or considered and skipped. */
  position = 0n;
  /** The chats the user is a member of as of `position`. */
  readonly chats = new Set<string>();
  /** Until the replay is done, what the hub hands over waits here. */
  pending: LoggedEvent[] | undefined = [];
  /** Settles when the stream has ended, for whatever reason. */
  readonly ended: Promise<void>;
  private closed = false;
  private settle!: () => void;

  constructor(
    readonly owner: StreamOwner,
    private readonly maxBufferBytes: number,
    private readonly onClose: (stream: EventStream) => void,
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
    this.body.write(`retry: ${RETRY_MS}\n\n`);
    // The reader went away (Koa destroys the body when the response closes), or we ended it.
    this.body.on('close', () => this.markClosed());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Writes a logged event and moves the position past it. `mentioned` adds `"mentioned":true` to its
   * data (an object, so its JSON text ends in `}`): the log's text is shared by every subscriber
   * and is spliced, not parsed, for the few that are mentioned.
   */
  send(event: LoggedEvent, mentioned = false): void {
    this.position = event.id;
    const json = mentioned ? `${event.json.slice(0, -1)},"mentioned":true}` : event.json;
    this.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${json}\n\n`);
  }

  /** An event that is not logged (typing): no `id:`, so it does not move the client's cursor. */
  sendEphemeral(type: string, json: string): void {
    this.write(`event: ${type}\ndata: ${json}\n\n`);
  }

  /** A comment line: keeps proxies from closing an idle connection. */
  heartbeat(): void {
    this.write(': keep-alive\n\n');
  }

  /** Tells the client to refetch, and where to resume after it has. */
  resync(reason: ResyncReason, at: bigint): void {
    this.position = at;
    this.write(`id: ${at}\nevent: resync\ndata: ${JSON.stringify({ reason })}\n\n`);
  }

  /** Ends the stream (the client may reconnect). */
  end(): void {
    if (this.closed) return;
    this.body.end();
    this.markClosed();
  }

  private write(record: string): void {
    if (this.closed) return;
    // A reader that does not keep up must not hold memory (or anyone else) up: it gets a last
    // resync and goes; when it reconnects, it resumes from its cursor.
    if (this.body.writableLength + this.body.readableLength > this.maxBufferBytes) {
      this.body.end(`event: resync\ndata: ${JSON.stringify({ reason: 'too-slow' })}\n\n`);
      this.markClosed();
      return;
    }
    this.body.write(record);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    this.onClose(this);
    this.settle();
  }
}
