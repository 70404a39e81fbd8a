/**
 * One connection to RabbitMQ and its life: opened with a timeout, error and close listeners on
 * it, reconnection with backoff when it drops (a broker restart), a close that never hangs. What
 * runs on the connection (the publisher, the subscriptions) is the queue's: it is told through
 * `LinkHandlers` when a new connection is to be prepared, ready, or lost.
 */
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { redactUrl } from '../config.ts';
import { QueueError, type QueueLogger } from './common.ts';

/** One connection to the broker; `alive` turns false when it closes, for whatever reason. */
export interface Link {
  readonly model: ChannelModel;
  alive: boolean;
}

/** How the owner of a connection takes part in opening it and hears of its loss. */
export interface LinkHandlers {
  /**
   * Readies a new connection before it becomes current (opens the publisher, declares the topology)
   * and answers what to do the moment it does. A rejection discards the connection.
   */
  prepare(link: Link): Promise<() => void>;
  /** Runs once the connection is current: resumes what was running on the one before. */
  resume(link: Link): Promise<void>;
  /** The current connection closed (reconnection follows unless the connection was closed). */
  lost(): void;
}

export interface AmqpConnectionOptions {
  log: QueueLogger;
  /** How long opening a connection (and preparing it) may take. */
  connectTimeoutMs: number;
  /** Delay before the first reconnect attempt, doubled on each failure. */
  initialDelayMs: number;
  /** The longest delay between reconnect attempts. */
  maxDelayMs: number;
  /** The name the broker shows for the connection. */
  connectionName: string;
}

/** How long `close()` waits for the broker's close-ok before it drops the socket. */
const CLOSE_TIMEOUT_MS = 1_000;

export const noop = (): void => {};

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Races `promise` against a timer; the loser is ignored (never an unhandled rejection). */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new QueueError(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new QueueError(messageOf(err)));
      },
    );
  });
}

export class AmqpConnection {
  private link: Link | undefined;
  private isClosed = false;
  private reconnecting = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;

  constructor(
    private readonly url: string,
    private readonly options: AmqpConnectionOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.reconnectDelayMs = options.initialDelayMs;
  }

  /** The live connection, or undefined while reconnecting and once closed. */
  get current(): Link | undefined {
    return this.link;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Opens the connection unless it is open. Rejects (with a QueueError naming the redacted URL) when
   * the broker is unreachable, without retrying: reconnection only starts once connected.
   */
  async connect(): Promise<void> {
    if (this.isClosed) throw new QueueError('the queue is closed');
    if (!this.link) await this.open();
  }

  /** Stops reconnecting and closes the connection, and with it every channel. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.reconnectTimer);
    const link = this.link;
    this.link = undefined;
    if (link) await this.closeModel(link.model);
  }

  /** Runs `fn` on a short-lived channel, so a failed check cannot break the publisher. */
  async withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    const link = this.link;
    if (!link) throw new QueueError('not connected to RabbitMQ');
    const channel = await link.model.createChannel();
    channel.on('error', (err: Error) => this.options.log.debug({ err }, 'AMQP check channel error'));
    channel.on('handler-error', (err: Error, event: string) =>
      this.options.log.error({ err, event }, 'an AMQP channel listener threw'),
    );
    try {
      return await fn(channel);
    } finally {
      await channel.close().catch(noop);
    }
  }

  /** Closes a connection; one that does not answer within a second has its socket dropped. */
  private async closeModel(model: ChannelModel): Promise<void> {
    try {
      await withTimeout(model.close(), CLOSE_TIMEOUT_MS, 'RabbitMQ did not answer the close');
    } catch (err) {
      this.options.log.debug({ err }, 'closing the AMQP connection failed: dropping the socket');
      // amqplib has no public way to drop a connection that does not answer its close. Destroyed
      // with an error, the socket makes amqplib tear the connection down (and stop its heartbeat
      // timers, which would otherwise keep the process alive).
      const internals = model.connection as unknown as { stream?: { destroy?: (err: Error) => void } };
      internals.stream?.destroy?.(new QueueError('RabbitMQ did not answer the close'));
    }
  }

  /** Opens a connection and has it prepared, then resumed; all or nothing. */
  private async open(): Promise<void> {
    const { connectTimeoutMs } = this.options;
    const model = await this.openModel();
    const link = this.watch(model);
    try {
      if (this.isClosed) throw new QueueError('the queue is closed');
      // A broker that takes the connection and then stops answering must not hang connect().
      const commit = await withTimeout(
        this.handlers.prepare(link),
        connectTimeoutMs,
        `RabbitMQ did not declare the topology within ${connectTimeoutMs} ms`,
      );
      if (!link.alive) throw new QueueError('the connection to RabbitMQ closed while opening');
      if (this.isClosed) throw new QueueError('the queue is closed');
      this.link = link;
      commit();
      this.reconnectDelayMs = this.options.initialDelayMs;
    } catch (err) {
      await this.closeModel(model);
      throw err;
    }
    await this.handlers.resume(link);
  }

  private async openModel(): Promise<ChannelModel> {
    const { connectTimeoutMs, connectionName } = this.options;
    const connecting = connect(this.url, {
      timeout: connectTimeoutMs,
      clientProperties: { connection_name: connectionName },
    });
    try {
      return await withTimeout(connecting, connectTimeoutMs, `no answer within ${connectTimeoutMs} ms`);
    } catch (err) {
      // Should the connection still open after the timeout, it is closed at once.
      connecting.then((late) => late.close().catch(noop), noop);
      throw new QueueError(`cannot connect to RabbitMQ at ${redactUrl(this.url)}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  /** Listens to a new connection: errors are logged, an unexpected close starts reconnecting. */
  private watch(model: ChannelModel): Link {
    const { log } = this.options;
    const link: Link = { model, alive: true };
    model.on('error', (err: Error) => log.warn({ err }, 'AMQP connection error'));
    model.on('handler-error', (err: Error, event: string) =>
      log.error({ err, event }, 'an AMQP connection listener threw'),
    );
    model.on('blocked', (reason: string) => log.warn({ reason }, 'RabbitMQ blocked the connection'));
    model.on('unblocked', () => log.info({}, 'RabbitMQ unblocked the connection'));
    model.on('close', (err?: Error) => {
      link.alive = false;
      if (this.link !== link) return;
      this.link = undefined;
      this.handlers.lost();
      if (this.isClosed) return;
      log.warn({ err }, 'the connection to RabbitMQ was lost: reconnecting');
      this.scheduleReconnect();
    });
    return link;
  }

  private scheduleReconnect(): void {
    if (this.isClosed || this.reconnecting || this.reconnectTimer) return;
    const { log, maxDelayMs } = this.options;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, maxDelayMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reconnecting = true;
      this.open().then(
        () => {
          this.reconnecting = false;
          log.info({ url: redactUrl(this.url) }, 'reconnected to RabbitMQ');
          if (!this.link) this.scheduleReconnect();
        },
        (err: unknown) => {
          this.reconnecting = false;
          if (this.isClosed) return;
          log.warn({ err, retryInMs: this.reconnectDelayMs }, 'reconnecting to RabbitMQ failed');
          this.scheduleReconnect();
        },
      );
    }, delay);
  }
}
