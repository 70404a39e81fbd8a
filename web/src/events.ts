import { api, API_URL, data, type EventType, type StreamEvent } from './api.ts';

/** The event types the client follows (openapi.yaml, `x-events` of GET /v1/events): all of them. */
const TYPES: readonly EventType[] = [
  'message.created',
  'message.edited',
  'message.deleted',
  'chat.created',
  'chat.member_added',
  'chat.member_removed',
  'chat.deleted',
  'chat.read',
  'typing',
  'resync',
];
/**
 * Events the client does not show yet (threads and reactions): their ids still move the cursor, so
 * a reconnect does not have them replayed.
 */
const CURSOR_ONLY = ['message.thread_updated', 'reaction.added', 'reaction.removed'] as const;

/** How long to wait before reconnecting, so a restarting API is not hammered. */
const RETRY_MS = 1000;

/**
 * The caller's event stream. An EventSource cannot send the session header, so every connection
 * takes a fresh single-use ticket; on an error it reconnects with a new ticket and the id of the last
 * event seen, so the stream resumes after it and nothing is missed or repeated.
 */
export class EventStream {
  private source: EventSource | undefined;
  private lastEventId = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly onEvent: (event: StreamEvent) => void,
    /** `true` while the stream is down and being reopened. */
    private readonly onReconnecting: (reconnecting: boolean) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let ticket: string;
    try {
      ticket = data(await api.POST('/v1/events/tickets')).ticket;
    } catch {
      // A 401 ends the session (api.ts); anything else (the API restarting) is retried.
      this.retry();
      return;
    }
    if (this.closed) return;
    const url = new URL('/v1/events', API_URL);
    url.searchParams.set('ticket', ticket);
    if (this.lastEventId) url.searchParams.set('last_event_id', this.lastEventId);
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => this.onReconnecting(false);
    source.onerror = () => {
      // The ticket works once, so EventSource's own reconnect would fail: reopen with a new one.
      source.close();
      this.retry();
    };
    for (const type of CURSOR_ONLY) {
      source.addEventListener(type, (event) => {
        if (event.lastEventId) this.lastEventId = event.lastEventId;
      });
    }
    for (const type of TYPES) {
      source.addEventListener(type, (event) => {
        if (event.lastEventId) this.lastEventId = event.lastEventId;
        const payload: unknown = JSON.parse(event.data);
        // The payload's shape is the contract's for its type (checked by the API's event tests).
        this.onEvent({ type, payload } as StreamEvent);
      });
    }
  }

  private retry(): void {
    if (this.closed) return;
    this.onReconnecting(true);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), RETRY_MS);
  }
}
