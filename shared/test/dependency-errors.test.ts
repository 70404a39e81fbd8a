/**
 * Driver failures are classified by what they are, at each backend's boundary: a test per class.
 * PostgreSQL cases run against the real server (TEST_POSTGRES_URL) in a scratch database; the
 * frozen Redis is a private `redis-server` this file starts and stops itself.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { ReplyError } from 'ioredis';
import { loadConfig } from '../src/config.ts';
import { connectDatabase, type Database } from '../src/db/connect.ts';
import { DependencyUnavailableError, isDependencyUnavailable, isNetworkError } from '../src/errors.ts';
import { connectQueue } from '../src/queue/index.ts';
import { RedisStore } from '../src/store/redis.ts';
import { describeRealService, realService, rejectionOf, sleep, uniqueTag } from './support/real-services.ts';
import { ScratchPostgres } from './support/scratch-postgres.ts';

function openPostgres(url: string, env: Record<string, string> = {}): Promise<Database> {
  return connectDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '2', ...env }));
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

describe('dependency errors', () => {
  describe('isNetworkError', () => {
    it('is true for the errnos of a socket that failed, false for other errors', () => {
      for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']) {
        expect(isNetworkError(Object.assign(new Error('x'), { code })), code).to.equal(true);
      }
      expect(isNetworkError(Object.assign(new Error('x'), { code: '23505' }))).to.equal(false);
      expect(isNetworkError(new TypeError('x'))).to.equal(false);
      expect(isNetworkError(undefined)).to.equal(false);
    });
  });

  describe('PostgreSQL', () => {
    it('a refused connection is DependencyUnavailableError(database) carrying the errno', async () => {
      const database = await openPostgres('postgres://postgres@127.0.0.1:1/none');
      try {
        const err = await rejectionOf(() => sql`select 1`.execute(database.db));
        expect(err).to.be.instanceOf(DependencyUnavailableError);
        expect((err as DependencyUnavailableError).dependency).to.equal('database');
        expect(isNetworkError(err.cause)).to.equal(true);
      } finally {
        await database.close();
      }
    });

    it('a refused connection does not open the breaker: the next query tries again', async () => {
      const database = await openPostgres('postgres://postgres@127.0.0.1:1/none');
      try {
        await rejectionOf(() => sql`select 1`.execute(database.db));
        const again = await rejectionOf(() => sql`select 1`.execute(database.db));
        expect(again.message).not.to.match(/a moment ago/);
        expect(isNetworkError(again.cause)).to.equal(true);
      } finally {
        await database.close();
      }
    });

    describeRealService(
      'on a real server',
      realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/test'),
      (adminUrl) => {
        let scratch: ScratchPostgres;
        let url: string;
        before(async () => {
          scratch = await ScratchPostgres.connect(adminUrl!, 'deps');
          url = await scratch.create();
        });
        after(async () => scratch?.dispose());

        it('a statement over DATABASE_STATEMENT_TIMEOUT_MS is 57014, unavailable, and the pool goes on', async () => {
          const database = await openPostgres(url, { DATABASE_STATEMENT_TIMEOUT_MS: '100' });
          try {
            const err = await rejectionOf(() => sql`select pg_sleep(1)`.execute(database.db));
            expect(err).to.be.instanceOf(DependencyUnavailableError);
            expect((err as DependencyUnavailableError).code).to.equal('57014');
            const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(database.db);
            expect(rows[0]!.ok).to.equal(1);
          } finally {
            await database.close();
          }
        });

        it('a query without an answer within DATABASE_QUERY_TIMEOUT_MS fails, drops its connection, and opens the breaker', async () => {
          const database = await openPostgres(url, {
            DATABASE_STATEMENT_TIMEOUT_MS: '0',
            DATABASE_QUERY_TIMEOUT_MS: '200',
            DATABASE_BREAKER_MS: '300',
          });
          try {
            const started = Date.now();
            const err = await rejectionOf(() => sql`select pg_sleep(2)`.execute(database.db));
            expect(err).to.be.instanceOf(DependencyUnavailableError);
            expect(Date.now() - started).to.be.below(1_500);
            // Open: fails without trying.
            const fast = await rejectionOf(() => sql`select 1`.execute(database.db));
            expect(fast.message).to.match(/a moment ago/);
            await sleep(350);
            // A fresh connection, not the one still stuck behind pg_sleep.
            const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(database.db);
            expect(rows[0]!.ok).to.equal(1);
          } finally {
            await database.close();
          }
        });

        it('a transaction whose statement times out fails after one timeout, not two (no ROLLBACK sent on the stuck connection)', async () => {
          const database = await openPostgres(url, {
            DATABASE_STATEMENT_TIMEOUT_MS: '0',
            DATABASE_QUERY_TIMEOUT_MS: '1000',
            DATABASE_BREAKER_MS: '0',
          });
          try {
            const started = Date.now();
            const err = await rejectionOf(() =>
              database.db.transaction().execute(async (trx) => {
                await sql`select pg_sleep(5)`.execute(trx);
              }),
            );
            expect(err).to.be.instanceOf(DependencyUnavailableError);
            // A ROLLBACK queued behind pg_sleep would wait out a second timeout (2 s in all).
            expect(Date.now() - started).to.be.below(1_900);
          } finally {
            await database.close();
          }
        });

        it('a connection terminated inside a transaction is unavailable, and the process lives on', async () => {
          const database = await openPostgres(url);
          const admin = new pg.Client({ connectionString: url });
          await admin.connect();
          try {
            const err = await rejectionOf(() =>
              database.db.transaction().execute(async (trx) => {
                const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
                // The server ends this backend while the client holds it (57P01, then the socket closes):
                // unheard, the client's 'error' event would end the process.
                await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
                await sleep(100);
                await sql`select 1`.execute(trx);
              }),
            );
            expect(err).to.be.instanceOf(DependencyUnavailableError);
            expect((err as DependencyUnavailableError).dependency).to.equal('database');
            // The broken connection was dropped: the pool serves the next query.
            const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(database.db);
            expect(rows[0]!.ok).to.equal(1);
          } finally {
            await admin.end();
            await database.close();
          }
        });

        it("the server's answer to a wrong statement passes through unchanged", async () => {
          const database = await openPostgres(url);
          try {
            const err = await rejectionOf(() => sql`select * from no_such_table`.execute(database.db));
            expect(isDependencyUnavailable(err)).to.equal(false);
            expect(err).to.be.instanceOf(pg.DatabaseError);
            expect((err as pg.DatabaseError).code).to.equal('42P01');
          } finally {
            await database.close();
          }
        });
      },
    );
  });

  describe('Redis', () => {
    let server: ChildProcess | undefined;
    let port: number;
    let store: RedisStore | undefined;

    before(async function () {
      port = await freePort();
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      const deadline = Date.now() + 5_000;
      for (;;) {
        const probe = new RedisStore(`redis://127.0.0.1:${port}`);
        try {
          await probe.connect();
          await probe.close();
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(50);
        }
      }
    });

    afterEach(async () => {
      server?.kill('SIGCONT');
      await store?.close();
      store = undefined;
    });

    after(async () => {
      if (server && server.exitCode === null) {
        server.kill('SIGCONT');
        server.kill('SIGKILL');
        await once(server, 'exit');
      }
    });

    it("Redis's own error reply passes through unchanged", async () => {
      store = await new RedisStore(`redis://127.0.0.1:${port}`, `deps-${uniqueTag()}:`).connect();
      await store.set('text', 'not a number');
      const err = await rejectionOf(() => store!.incr('text'));
      expect(err).to.be.instanceOf(ReplyError);
      expect(isDependencyUnavailable(err)).to.equal(false);
    });

    it('a frozen server fails a command within REDIS_COMMAND_TIMEOUT_MS, then the breaker fails the next at once', async () => {
      store = await new RedisStore(`redis://127.0.0.1:${port}`, `deps-${uniqueTag()}:`, {
        commandTimeoutMs: 300,
        breakerMs: 500,
      }).connect();
      await store.set('k', 'v');
      server!.kill('SIGSTOP');
      const started = Date.now();
      const err = await rejectionOf(() => store!.get('k'));
      expect(err).to.be.instanceOf(DependencyUnavailableError);
      expect((err as DependencyUnavailableError).dependency).to.equal('store');
      expect(Date.now() - started).to.be.within(250, 1_000);
      const fastStart = Date.now();
      await rejectionOf(() => store!.get('k'));
      expect(Date.now() - fastStart).to.be.below(50);
      expect(store.breaker.open).to.equal(true);
      server!.kill('SIGCONT');
      await sleep(550);
      expect(await store.get('k')).to.equal('v');
    });

    it('a refused connection is DependencyUnavailableError(store)', async () => {
      const dead = new RedisStore('redis://127.0.0.1:1', `deps-${uniqueTag()}:`);
      try {
        const err = await rejectionOf(() => dead.get('k'));
        expect(err).to.be.instanceOf(DependencyUnavailableError);
        expect((err as DependencyUnavailableError).dependency).to.equal('store');
      } finally {
        await dead.close();
      }
    });
  });

  describe('the queue', () => {
    it('an unreachable broker is DependencyUnavailableError(queue)', async () => {
      const err = await rejectionOf(() =>
        connectQueue(loadConfig({ AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' })),
      );
      expect(isDependencyUnavailable(err)).to.equal(true);
      expect((err as DependencyUnavailableError).dependency).to.equal('queue');
    });
  });
});
