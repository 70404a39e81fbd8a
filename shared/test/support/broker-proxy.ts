import { createServer, connect as connectTcp, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the broker: stopping it is the broker going away (a restart), freezing it
 * is a broker that no longer answers. Handles opened through it see nothing else.
 */
export class BrokerProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private frozen = false;
  port = 0;

  constructor(private readonly target: URL) {}

  /** The broker URL, through the proxy. */
  get url(): string {
    const url = new URL(this.target.href);
    url.host = `127.0.0.1:${this.port}`;
    return url.href;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connectTcp(Number(this.target.port || 5672), this.target.hostname);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.on('data', (chunk: Buffer) => {
          if (!this.frozen) to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.frozen = false;
  }

  /** Drops every connection and refuses new ones, until start() again (on the same port). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keeps the connections open but passes nothing on: the broker stops answering. */
  freeze(): void {
    this.frozen = true;
  }
}
