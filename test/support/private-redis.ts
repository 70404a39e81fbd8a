/**
 * A Redis server of the test's own (`redis-server` on a free port, nothing saved to disk), for
 * fault tests that flush, stop, freeze and restart it: never the shared one on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../api/test/support/free-port.ts';
import { cleanupOnExit, signalAll } from './processes.ts';

/** Sends one inline command and answers the first reply line (enough for PING, FLUSHALL, DBSIZE). */
function command(port: number, line: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`redis ${line}: no answer in ${timeoutMs} ms`)),
    );
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

export class PrivateRedis {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<PrivateRedis> {
    const dir = await mkdtemp(path.join(tmpdir(), 'messenger-redis-'));
    const server = new PrivateRedis(dir, await freePort());
    cleanupOnExit(() => server.destroySync());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server (again, empty: nothing is persisted) on the same port; resolves once it answers PING. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    const until = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited:\n${this.output}`);
      if ((await command(this.port, 'PING', 500).catch(() => '')) === '+PONG') return;
      if (Date.now() > until) throw new Error(`redis-server did not answer:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills the server (its data goes with it) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    signalAll([child.pid!], 'SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Every key gone, as after an operator's FLUSHALL or a failover to an empty replica. */
  async flushAll(): Promise<void> {
    const reply = await command(this.port, 'FLUSHALL');
    if (reply !== '+OK') throw new Error(`FLUSHALL answered ${reply}`);
  }

  async dbSize(): Promise<number> {
    return Number((await command(this.port, 'DBSIZE')).slice(1));
  }

  /** SIGSTOP: connections stay open and nothing answers, as on a hung host. */
  freeze(): void {
    if (this.child?.pid) signalAll([this.child.pid], 'SIGSTOP');
  }

  thaw(): void {
    if (this.child?.pid) signalAll([this.child.pid], 'SIGCONT');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private destroySync(): void {
    if (this.child?.pid && this.child.exitCode === null) {
      signalAll([this.child.pid], 'SIGCONT');
      signalAll([this.child.pid], 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
