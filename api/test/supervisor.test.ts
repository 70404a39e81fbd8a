/**
 * `make start` (scripts/start.mjs) supervises its children: one that dies is restarted with backoff
 * and logged, and is never a reason to stop the other; SIGTERM stops everything; a child with bad
 * configuration stops everything with exit code 2 instead of being restarted forever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import nodeFlags from '../../scripts/node-flags.json' with { type: 'json' };
import { isAlive, processTree, signalAll } from '../../test/support/processes.ts';
import { buildBundles } from './support/api-process.ts';
import { testEnv, uniqueTopology } from './support/backends.ts';
import { freePort } from './support/free-port.ts';
import { sleep } from './support/load.ts';

interface Supervisor {
  process: ChildProcess;
  url: string;
  exit: Promise<number | string>;
  output: () => string;
  /** The supervisor's own log lines (JSON), in order. */
  events: () => Array<{ msg: string; child?: string; pid?: number; delayMs?: number }>;
}

function startSupervisor(env: Record<string, string>, port: number): Supervisor {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    env: testEnv({ ...env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    process: child,
    url: `http://127.0.0.1:${port}`,
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))),
    output: () => out,
    events: () =>
      out
        .split('\n')
        .filter((line) => line.includes('"service":"supervisor"'))
        .map((line) => JSON.parse(line) as { msg: string; child?: string; pid?: number }),
  };
}

/** Polls `check` every 50 ms for at most `ms`; fails with the supervisor's output. */
async function until(
  supervisor: Supervisor,
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 30_000,
) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen within ${ms} ms:\n${supervisor.output()}`);
    await sleep(50);
  }
}

const pids = (s: Supervisor, child: string) =>
  s
    .events()
    .filter((e) => e.msg === `${child} started` && e.child === child)
    .map((e) => e.pid!);

/**
 * After a failed test: the supervisor and whatever it runs right now, found by parent links (never by
 * pids from its log, which may belong to someone else by now).
 */
function killAll(supervisor: Supervisor): void {
  const { pid, exitCode, signalCode } = supervisor.process;
  if (pid === undefined || exitCode !== null || signalCode !== null) return;
  signalAll(processTree(pid), 'SIGKILL');
}

const answers = (url: string) =>
  fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.status === 200,
    () => false,
  );

describe('make start supervises its children', function () {
  this.timeout(90_000);
  // A real broker means a consumer child as well (the API runs the worker itself with memory://).
  const amqp = /^amqps?:/.test(process.env.AMQP_URL ?? '');
  let dataDir: string;
  const env = (): Record<string, string> => ({
    // Postgres when the run has it; else PGlite on disk, which a restarted API reopens (~0.4 s)
    // instead of creating and migrating a new database.
    DATABASE_URL: (process.env.DATABASE_URL ?? '').startsWith('postgres')
      ? process.env.DATABASE_URL!
      : `pglite://${dataDir}`,
    LOG_LEVEL: 'info',
    ...uniqueTopology(),
  });

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'messenger-supervised-'));
    await buildBundles();
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it(`restarts a killed API${amqp ? ' and a killed consumer, each without stopping the other,' : ''} and stops everything on SIGTERM with exit 0`, async () => {
    const supervisor = startSupervisor(env(), await freePort());
    try {
      await until(supervisor, 'the API answering', () => answers(supervisor.url));
      const [firstApi] = pids(supervisor, 'api');
      expect(firstApi).to.be.a('number');
      if (amqp)
        await until(supervisor, 'the consumer running', () =>
          supervisor.output().includes('consumer running'),
        );
      const firstConsumer = pids(supervisor, 'consumer')[0];

      expect(processTree(supervisor.process.pid!)).to.include(firstApi);
      // With the flags the image and the bench use too (node-flags.test.ts).
      const argv = readFileSync(`/proc/${firstApi}/cmdline`, 'utf8').split('\0').slice(1, -1);
      expect(argv).to.deep.equal([...nodeFlags.api, 'api/dist/main.js']);
      process.kill(firstApi!, 'SIGKILL');
      const killed = Date.now();
      await until(supervisor, 'a second API', () => pids(supervisor, 'api').length === 2);
      await until(supervisor, 'the restarted API answering', () => answers(supervisor.url));
      console.log(`      API SIGKILLed: answering again after ${Date.now() - killed} ms`);
      const restart = supervisor.events().find((e) => e.msg.startsWith('api exited (signal SIGKILL)'));
      expect(restart, supervisor.output()).to.include({ child: 'api', delayMs: 500 });
      expect(isAlive(supervisor.process.pid!)).to.equal(true);

      if (amqp) {
        expect(pids(supervisor, 'consumer'), 'the consumer was not touched').to.deep.equal([firstConsumer]);
        expect(processTree(supervisor.process.pid!)).to.include(firstConsumer);
        process.kill(firstConsumer!, 'SIGKILL');
        await until(supervisor, 'a second consumer', () => pids(supervisor, 'consumer').length === 2);
        await until(
          supervisor,
          'the restarted consumer running',
          () => supervisor.output().split('consumer running').length === 3,
        );
        expect(pids(supervisor, 'api'), 'the API was not touched').to.have.length(2);
        expect(await answers(supervisor.url)).to.equal(true);
      }

      const children = [...pids(supervisor, 'api'), ...pids(supervisor, 'consumer')];
      supervisor.process.kill('SIGTERM');
      expect(await supervisor.exit, supervisor.output()).to.equal(0);
      expect(children.filter(isAlive), 'children still running').to.deep.equal([]);
    } finally {
      killAll(supervisor);
    }
  });

  it('backs off a child that keeps dying (0.5 s, 1 s, 2 s, …) and stops at once on SIGTERM while it waits', async () => {
    // Nothing listens on port 1: the API cannot reach its database at start-up and exits 1, every time.
    const supervisor = startSupervisor(
      { ...env(), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', AMQP_URL: 'memory://' },
      await freePort(),
    );
    try {
      const exits = () => supervisor.events().filter((e) => e.msg.startsWith('api exited'));
      await until(supervisor, 'three exits of the API', () => exits().length >= 3);
      expect(
        exits()
          .slice(0, 3)
          .map((e) => e.delayMs),
      ).to.deep.equal([500, 1_000, 2_000]);
      supervisor.process.kill('SIGTERM');
      const code = await Promise.race([supervisor.exit, sleep(10_000).then(() => 'still running')]);
      expect(code, supervisor.output()).to.equal(0);
    } finally {
      killAll(supervisor);
    }
  });

  it('does not restart a child with bad configuration: everything stops with exit code 2', async () => {
    const supervisor = startSupervisor({ ...env(), SESSION_TTL_SECONDS: '-5' }, await freePort());
    const code = await Promise.race([supervisor.exit, sleep(30_000).then(() => 'still running')]);
    killAll(supervisor);
    expect(code, supervisor.output()).to.equal(2);
    expect(supervisor.output()).to.contain('SESSION_TTL_SECONDS=-5');
    expect(pids(supervisor, 'api')).to.have.length(1);
  });
});
