import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A reverse proxy to `target` that a test can take down and bring back, as a restarting API looks to
 * a browser: `down()` cuts every open connection (event streams included) and refuses new ones until
 * `up()`. The page is opened through it, so it sees only the proxy's origin.
 */
export class SwitchableProxy {
  private readonly sockets = new Set<Socket>();
  private isDown = false;

  private readonly server: Server;
  /** Where the page opens the app: `http://127.0.0.1:<port>` once started. */
  origin = '';

  private constructor(target: string) {
    this.server = createServer((req, res) => {
      if (this.isDown) {
        req.socket.destroy();
        return;
      }
      const upstream = request(
        new URL(req.url ?? '/', target),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(target: string): Promise<SwitchableProxy> {
    const proxy = new SwitchableProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.origin = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Cuts every connection and refuses requests until `up()`. */
  down(): void {
    this.isDown = true;
    for (const socket of this.sockets) socket.destroy();
  }

  up(): void {
    this.isDown = false;
  }

  close(): Promise<void> {
    this.down();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
