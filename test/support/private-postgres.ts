/**
 * A PostgreSQL server of the test's own, for fault tests that stop, freeze and restart it: never
 * the shared one on 5432. Started with the server's own `initdb` and `pg_ctl` (Debian keeps them in
 * /usr/lib/postgresql/<version>/bin) on a free port, in a temp dir. PostgreSQL refuses to run as
 * root, so as root every command runs as the `postgres` OS user.
 *
 * `initdb` runs once per test run (a template data dir); each server starts from a copy of it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../api/test/support/free-port.ts';
import { cleanupOnExit, processTree, signalAll } from './processes.ts';

const execFileAsync = promisify(execFile);

/** The newest server installed, or whatever `pg_ctl` is on PATH. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions[0] ? path.join(root, versions[0], 'bin') : '';
}

const BIN = binDir();
const asRoot = process.getuid?.() === 0;

/** The OS user the server runs as: `postgres` when we are root, else ourselves. */
const serverUser = asRoot ? 'postgres' : userInfo().username;

/** Runs a PostgreSQL tool as the server's user. */
function tool(name: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const cmd = BIN ? path.join(BIN, name) : name;
  return asRoot
    ? execFileAsync('runuser', ['-u', serverUser, '--', cmd, ...args], { timeout: 60_000 })
    : execFileAsync(cmd, args, { timeout: 60_000 });
}

function toolSync(name: string, args: string[]): void {
  const cmd = BIN ? path.join(BIN, name) : name;
  const [file, argv] = asRoot ? ['runuser', ['-u', serverUser, '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
}

async function ownedTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', serverUser]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', serverUser]).toString().trim());
    await chown(dir, uid, gid);
  }
  return dir;
}

let template: Promise<string> | undefined;

/** One `initdb` per run (about 2 s); servers copy its data dir. */
function templateDataDir(): Promise<string> {
  template ??= (async () => {
    const dir = await ownedTempDir('messenger-pg-template-');
    cleanupOnExit(() => rmSync(dir, { recursive: true, force: true }));
    const data = path.join(dir, 'data');
    await tool('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    return data;
  })();
  return template;
}

export class PrivatePostgres {
  private frozen: number[] = [];
  private running = false;

  private constructor(
    /** Parent of the data dir, owned by the server's user; removed by `destroy()`. */
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** A fresh server (its own copy of the template) listening on a free port. */
  static async start(): Promise<PrivatePostgres> {
    const source = await templateDataDir();
    const dir = await ownedTempDir('messenger-pg-');
    // cp as the server's user keeps the ownership and the 0700 mode PostgreSQL insists on.
    if (asRoot)
      await execFileAsync('runuser', ['-u', serverUser, '--', 'cp', '-a', source, path.join(dir, 'data')]);
    else await cp(source, path.join(dir, 'data'), { recursive: true });
    const server = new PrivatePostgres(dir, await freePort());
    cleanupOnExit(() => server.destroySync());
    await server.restart();
    return server;
  }

  /** The superuser's database; the API migrates it at start-up. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get logFile(): string {
    return path.join(this.dir, 'server.log');
  }

  /** Starts the server (again) on the same port and waits until it accepts connections. */
  async restart(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      // The OS never crashes under these tests, so durability to disk buys nothing but time.
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=60',
      '-c shared_buffers=16MB',
    ].join(' ');
    await tool('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', options, '-w', '-t', '30', 'start']);
    this.running = true;
  }

  /**
   * Stops the server: `fast` ends every session with 57P01 "terminating connection due to
   * administrator command", as an operator's restart does; `immediate` is a crash (no checkpoint).
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.thaw();
    await tool('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
    this.running = false;
  }

  /** The postmaster and every process it forked (backends, checkpointer, ...). */
  private pids(): number[] {
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return [];
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(postmaster) && postmaster > 0 ? processTree(postmaster) : [];
  }

  /**
   * SIGSTOPs the whole server, backends included, so pooled connections hang as on a hung host or
   * a network black hole: connects are accepted by the kernel and then nothing answers.
   */
  freeze(): void {
    this.frozen = this.pids();
    signalAll(this.frozen, 'SIGSTOP');
  }

  thaw(): void {
    signalAll([...this.frozen, ...this.pids()], 'SIGCONT');
    this.frozen = [];
  }

  /** Runs SQL through psql (as the server's user, over the socket): for checks that bypass the API. */
  async psql(query: string): Promise<string> {
    const { stdout } = await tool('psql', [
      '-h',
      this.dir,
      '-p',
      String(this.port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-XAtq',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      query,
    ]);
    return stdout;
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** Thaws, stops (immediate: nothing left to keep) and removes the data. Safe to call twice. */
  async destroy(): Promise<void> {
    this.thaw();
    if (this.running) await this.stop('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  private destroySync(): void {
    this.thaw();
    if (this.running) {
      try {
        toolSync('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already down
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
