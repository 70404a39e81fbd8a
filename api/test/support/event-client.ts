import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { eventProblems } from './event-schemas.ts';

export interface ReceivedEvent {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

export interface OpenOptions {
  token?: string;
  ticket?: string;
  lastEventId?: string;
  /** AUTH_DISABLED mode: who subscribes. */
  userId?: string;
}

/**
 * A subscriber to `GET /v1/events` as a client library would be one: fetch, and the SSE records
 * parsed by eventsource-parser. It collects what arrives; tests wait for what they expect.
 */
export class EventClient {
  readonly events: ReceivedEvent[] = [];
  /** Events whose type or data the contract does not describe: any makes the next wait fail. */
  readonly problems: string[] = [];
  comments = 0;
  retry: number | undefined;
  private readonly abort = new AbortController();
  private waiters: Array<() => void> = [];
  private ended = false;
  /** Settles when the server ends the stream (or close() is called). */
  readonly done: Promise<void>;

  private constructor(readonly response: Response) {
    const parser = createParser({
      onEvent: (m: EventSourceMessage) => {
        const event = {
          id: m.id,
          event: m.event ?? 'message',
          data: JSON.parse(m.data) as Record<string, unknown>,
        };
        const problem = eventProblems(event.event, event.data);
        if (problem) this.problems.push(problem);
        this.events.push(event);
        this.wake();
      },
      onComment: () => {
        this.comments += 1;
        this.wake();
      },
      onRetry: (ms: number) => {
        this.retry = ms;
        this.wake();
      },
    });
    this.done = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }));
        }
      } catch {
        // Aborted by close(), or the connection dropped: either way the stream is over.
      }
      this.ended = true;
      this.wake();
    })();
  }

  static async open(baseUrl: string, options: OpenOptions = {}): Promise<EventClient> {
    const url = new URL('/v1/events', baseUrl);
    if (options.ticket) url.searchParams.set('ticket', options.ticket);
    if (options.userId) url.searchParams.set('user_id', options.userId);
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (options.token) headers.Authorization = `session_id ${options.token}`;
    if (options.lastEventId) headers['Last-Event-ID'] = options.lastEventId;
    const controller = new AbortController();
    const response = await fetch(url, { headers, signal: controller.signal });
    const client = new EventClient(response);
    client.abort.signal.addEventListener('abort', () => controller.abort());
    return client;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The id of the last logged event received: what a reconnect sends as Last-Event-ID. */
  get lastEventId(): string | undefined {
    return this.events.findLast((e) => e.id !== undefined)?.id;
  }

  /** Waits until `ready()` holds, or fails after `timeoutMs`. */
  async until(ready: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.problems.length > 0)
        throw new Error(`events that break the contract: ${this.problems.join(' | ')}`);
      if (ready()) return;
      if (this.ended && !ready()) throw new Error(`the stream ended before ${what}; got ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the first event of this type that `match` accepts (after those already taken). */
  async next(
    event: string,
    match: (data: Record<string, unknown>) => boolean = () => true,
    timeoutMs?: number,
  ) {
    let found: ReceivedEvent | undefined;
    await this.until(
      () => (found = this.events.find((e) => e.event === event && match(e.data))) !== undefined,
      `a ${event} event`,
      timeoutMs,
    );
    return found!;
  }

  /** The events of a type received so far. */
  ofType(event: string): ReceivedEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private describe(): string {
    return JSON.stringify(this.events.map((e) => `${e.id ?? '-'}:${e.event}`));
  }
}
