/**
 * Fan-out between the API processes behind one small interface: Redis pub/sub, or an in-process hub
 * for the embedded default. It tells every instance at once that something happened (new events are
 * stored, a session ended, someone is typing); it keeps nothing, so whatever must survive lives in
 * PostgreSQL and the bus only says "look now".
 */
export interface Bus {
  readonly backend: 'redis' | 'memory';
  /**
   * Sends `message` to every subscriber of `channel` on every instance that shares this bus's key
   * prefix: at most once, in publish order per channel, never inside this call's stack, with no
   * history (a subscriber that joins later does not get it). Rejects with a
   * DependencyUnavailableError when the server does not answer, and with an Error once closed. A
   * publish that timed out may still reach the subscribers later (a frozen server that thaws).
   */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `onMessage` for each message published on `channel` from the moment this resolves; answers
   * the unsubscribe. `onMessage` should not throw: an error it throws is logged and goes no further.
   * Rejects like `publish`.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<Unsubscribe>;
  /**
   * Calls `listener` each time the subscriptions are back after the connection to the server was
   * lost. Messages published in between are gone: a subscriber that needs them catches up from its
   * durable log. Answers a function that removes the listener.
   */
  onResubscribed(listener: () => void): () => void;
  /** Ends every subscription and connection; publish and subscribe reject afterwards. Idempotent. */
  close(): Promise<void>;
}

/** Stops delivery to one subscriber; calling it again does nothing. */
export type Unsubscribe = () => Promise<void>;

/** What the bus logs (a failing subscriber, a lost connection): a pino logger fits. */
export interface BusLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentBusLogger: BusLogger = { warn: noop, error: noop };

/** The error a closed bus rejects with. */
export function busClosedError(): Error {
  return new Error('the bus is closed');
}

/** Calls `onMessage`, keeping an error it throws away from the delivery loop (and the process). */
export function deliver(
  logger: BusLogger,
  channel: string,
  onMessage: (message: string) => void,
  message: string,
): void {
  try {
    onMessage(message);
  } catch (err) {
    logger.error({ err, channel }, 'a bus subscriber threw');
  }
}
