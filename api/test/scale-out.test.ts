/**
 * Two API processes against one PostgreSQL and one Redis, as behind nginx: the API keeps no state
 * of its own, so sessions, logouts, rate limits and cache invalidation hold across them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { describeRealService, realService } from '../../shared/test/support/real-services.ts';
import { RUN_ID, testEnv, uniqueTopology } from './support/backends.ts';
import { callApi } from './support/api-process.ts';
import { uniqueName } from './support/test-context.ts';
import { freePort } from './support/free-port.ts';

const execFileAsync = promisify(execFile);
const MAIN = path.resolve('api/dist/main.js');

interface Instance {
  url: string;
  child: ChildProcess;
}

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: testEnv({ ...env, PORT: String(port), LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      // 'close' comes after the last of its output has been read.
      if (child.stdout && !child.stdout.readableEnded)
        await new Promise((resolve) => child.once('close', resolve));
      throw new Error(`instance exited (${child.exitCode ?? child.signalCode}): ${err}`);
    }
    if (Date.now() > until) throw new Error(`instance did not answer: ${err}`);
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The few fields these tests read from the answers. */
interface Answer {
  status: number;
  json: { session_id?: string; chat_id?: string; message?: string; messages?: Array<{ text: string }> };
}

const call = (instance: Instance, method: string, route: string, token?: string, body?: unknown) =>
  callApi<Answer['json']>(instance, method, route, token, body);

describeRealService(
  'two API instances on one PostgreSQL and Redis',
  realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/messenger_test'),
  (postgresUrl) => {
    const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');
    let a: Instance;
    let b: Instance;
    let token: string;

    before(async function () {
      this.timeout(90_000);
      if (redis.state !== 'available') throw new Error('set TEST_REDIS_URL as well');
      await execFileAsync(process.execPath, ['scripts/build.mjs']);
      const env = {
        DATABASE_URL: postgresUrl!,
        REDIS_URL: redis.url,
        AMQP_URL: 'memory://',
        REDIS_KEY_PREFIX: `test-${RUN_ID}-scale-${uniqueName()}:`,
        THROTTLING: 'on',
        RATE_LIMIT_API: '20/3s',
        RATE_LIMIT_AUTH_IP: '1000/1s',
        ...uniqueTopology(),
      };
      [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
      const userName = uniqueName('scaled');
      expect(
        (
          await call(a, 'POST', '/v1/auth/register', undefined, {
            user_name: userName,
            password: 'scale out pw',
          })
        ).status,
      ).to.equal(201);
      token = (
        await call(a, 'POST', '/v1/auth/login', undefined, { user_name: userName, password: 'scale out pw' })
      ).json.session_id!;
    });
    after(() => {
      a?.child.kill('SIGTERM');
      b?.child.kill('SIGTERM');
    });

    it('a session created through one works through the other', async () => {
      expect((await call(b, 'GET', '/v1/chats?limit=5', token)).status).to.equal(200);
    });

    it('a message posted through one is in the next history read through the other', async () => {
      const chatId = (await call(a, 'POST', '/v1/chats', token, { chat_name: 'scaled chat' })).json.chat_id;
      await call(a, 'POST', `/v1/chats/${chatId}/messages`, token, { message: 'one' });
      const first = await call(b, 'GET', `/v1/chats/${chatId}/messages?limit=10`, token); // now cached on B's side
      expect(first.json.messages).to.have.length(1);
      await call(a, 'POST', `/v1/chats/${chatId}/messages`, token, { message: 'two' });
      const second = await call(b, 'GET', `/v1/chats/${chatId}/messages?limit=10`, token);
      expect(second.json.messages!.map((m) => m.text)).to.deep.equal(['one', 'two']);
    });

    it('shares the rate limit: the sum over both instances is what is limited', async function () {
      this.timeout(20_000);
      // A fresh window for this user.
      await new Promise((resolve) => setTimeout(resolve, 3_100));
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => call(i % 2 ? a : b, 'GET', '/v1/chats?limit=1', token)),
      );
      const ok = answers.filter((r) => r.status === 200).length;
      const limited = answers.filter((r) => r.status === 429).length;
      expect(ok).to.be.at.most(20);
      expect(limited).to.be.at.least(20);
      expect(ok + limited).to.equal(40);
    });

    it('a logout through one kills the session on both', async () => {
      await new Promise((resolve) => setTimeout(resolve, 3_100));
      expect((await call(a, 'POST', '/v1/auth/logout', token)).status).to.equal(200);
      for (const instance of [a, b]) {
        const answer = await call(instance, 'GET', '/v1/chats?limit=1', token);
        expect(answer.status).to.equal(401);
        expect(answer.json.message).to.equal('invalid-session-id');
      }
    });
  },
);
