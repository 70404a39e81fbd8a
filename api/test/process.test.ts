import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { testEnv } from './support/backends.ts';
import { uniqueName } from './support/test-context.ts';
import { freePort } from './support/free-port.ts';
import { describeRealService, realService } from '../../shared/test/support/real-services.ts';

const execFileAsync = promisify(execFile);
/** What `make start` runs: the bundle of api/src/main.ts. */
const MAIN = path.resolve('api/dist/main.js');

interface Running {
  child: ChildProcess;
  url: string;
  /** ms from spawn until /ping answered */
  startupMs: number;
  exit: Promise<number | null>;
  output: () => string;
}

/** Starts `api/src/main.ts` as `make start` does and waits until /ping answers. */
async function startProcess(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN], {
    env: { ...testEnv({ PORT: String(port), LOG_LEVEL: 'info', ...env }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited early:\n${out}`);
    if (Date.now() - started > 30_000) throw new Error(`the API did not answer /ping within 30 s:\n${out}`);
    try {
      if ((await fetch(`${url}/ping`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { child, url, startupMs: Date.now() - started, exit, output: () => out };
}

describe('the API process (make start)', function () {
  this.timeout(60_000);
  let dataDir: string | undefined;
  const dbEnv = (): Record<string, string> =>
    testEnv().DATABASE_URL?.startsWith('postgres') ? {} : { DATABASE_URL: `pglite://${dataDir}` };

  before(async () => {
    await execFileAsync(process.execPath, ['scripts/build.mjs']);
    dataDir = await mkdtemp(path.join(tmpdir(), 'messenger-db-'));
  });
  after(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to start on bad configuration, naming every bad variable, with exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: testEnv({
        PORT: 'eighty',
        SESSION_TTL_SECONDS: '-5',
        DATABASE_URL: 'mysql://x',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(2);
    expect(err)
      .to.contain('PORT=eighty')
      .and.contain('SESSION_TTL_SECONDS=-5')
      .and.contain('DATABASE_URL=mysql://x');
  });

  it('keeps its data across a restart, answers /ping quickly, and exits 0 on SIGTERM', async () => {
    const env = dbEnv();
    const first = await startProcess(env);
    const userName = uniqueName('restart');
    const register = await fetch(`${first.url}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_name: userName, password: 'restart password' }),
    });
    expect(register.status).to.equal(201);
    first.child.kill('SIGTERM');
    expect(await first.exit).to.equal(0);

    // Migrations are applied now: this start is the one the old harnesses time (about a second).
    const second = await startProcess(env);
    console.log(`      start-up to first /ping answer with migrations applied: ${second.startupMs} ms`);
    const login = await fetch(`${second.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_name: userName, password: 'restart password' }),
    });
    expect(login.status).to.equal(200);
    second.child.kill('SIGINT');
    expect(await second.exit).to.equal(0);
    expect(second.output()).to.contain('stopped');
  });

  it('finishes a request in flight before it stops', async () => {
    const running = await startProcess(dbEnv());
    const body = JSON.stringify({ user_name: uniqueName('inflight'), password: 'in flight password' });
    const { port } = new URL(running.url);
    const response = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/auth/register',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // Half the body now; SIGTERM arrives; the rest after.
      req.write(body.slice(0, 10));
      setTimeout(() => running.child.kill('SIGTERM'), 100);
      setTimeout(() => req.end(body.slice(10)), 400);
    });
    expect(await response).to.equal(201);
    expect(await running.exit).to.equal(0);
  });

  describeRealService(
    "started as the original API's harness starts it (POSTGRES_*, AUTH_DISABLED, no DATABASE_URL)",
    realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/messenger_test'),
    (url) => {
      const harnessEnv = (target: string): Record<string, string> => {
        const parsed = new URL(target);
        return {
          // Empty counts as unset: the harness sets no DATABASE_URL.
          DATABASE_URL: '',
          POSTGRES_HOSTS: parsed.host,
          POSTGRES_DB: parsed.pathname.slice(1),
          POSTGRES_USER: decodeURIComponent(parsed.username),
          POSTGRES_PWD: decodeURIComponent(parsed.password),
          AUTH_DISABLED: 'true',
        };
      };

      it('uses that PostgreSQL: /ping_db answers 200, and the figure to the first /ping_db is printed', async () => {
        const running = await startProcess(harnessEnv(url!));
        try {
          const started = Date.now() - running.startupMs;
          let status = 0;
          while (Date.now() - started < 10_000 && status !== 200) {
            status = (await fetch(`${running.url}/ping_db`)).status;
          }
          expect(status).to.equal(200);
          console.log(`      start-up to first /ping_db 200 (harness settings): ${Date.now() - started} ms`);
          expect(running.output()).to.contain(new URL(url!).host);
        } finally {
          running.child.kill('SIGTERM');
          expect(await running.exit).to.equal(0);
        }
      });

      it('answers /ping_db 503 when the PostgreSQL it names is not there (no silent embedded fallback)', async () => {
        const running = await startProcess({
          ...harnessEnv('postgres://postgres@127.0.0.1:1/none'),
          MIGRATE_ON_START: 'false',
        });
        try {
          expect((await fetch(`${running.url}/ping_db`)).status).to.equal(503);
        } finally {
          running.child.kill('SIGTERM');
          await running.exit;
        }
      });
    },
  );
});
