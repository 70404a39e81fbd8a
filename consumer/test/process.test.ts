/**
 * `make start` with a real broker: the API process and a separate consumer process (scripts/start.mjs),
 * a search through HTTP finished by the consumer, and a graceful stop of both.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { deleteTopology, loadConfig } from '@messenger/shared';
import { RUN_ID } from '../../api/test/support/backends.ts';
import { describeRealService, realService } from '../../shared/test/support/real-services.ts';
import { freePort } from '../../api/test/support/free-port.ts';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the consumer process', function () {
  this.timeout(60_000);
  before(async () => {
    await execFileAsync(process.execPath, ['scripts/build.mjs']);
  });

  it('refuses AMQP_URL=memory:// (the API runs the worker itself then) with exit code 2', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['consumer/dist/main.js'], {
        env: { ...process.env, AMQP_URL: 'memory://', LOG_LEVEL: 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (c) => resolve({ code: c, stderr: out }));
    });
    expect(code).to.equal(2);
    expect(stderr).to.contain('AMQP_URL');
  });

  const postgres = realService(
    'PostgreSQL',
    'TEST_POSTGRES_URL',
    'postgres://postgres@127.0.0.1:5432/messenger_test',
  );
  const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');
  describeRealService(
    'make start with RabbitMQ',
    realService('RabbitMQ', 'TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672'),
    (amqpUrl) => {
      it('runs a search end to end through the consumer process, then both stop on SIGTERM with exit 0', async () => {
        if (postgres.state !== 'available' || redis.state !== 'available')
          throw new Error('set TEST_POSTGRES_URL and TEST_REDIS_URL');
        const id = randomBytes(4).toString('hex');
        const port = await freePort();
        const names = {
          SEARCH_EXCHANGE: `test_${id}_x`,
          SEARCH_QUEUE: `test_${id}_q`,
          SEARCH_DEAD_LETTER_EXCHANGE: `test_${id}_dlx`,
          SEARCH_DEAD_LETTER_QUEUE: `test_${id}_dlq`,
        };
        const launcher = spawn(process.execPath, ['scripts/start.mjs'], {
          env: {
            ...process.env,
            ...names,
            PORT: String(port),
            DATABASE_URL: postgres.url,
            REDIS_URL: redis.url,
            // under this run's prefix, so the run's clean-up removes the keys
            REDIS_KEY_PREFIX: `test-${RUN_ID}-proc-${id}:`,
            AMQP_URL: amqpUrl!,
            LOG_LEVEL: 'warn',
            THROTTLING: 'off',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let err = '';
        launcher.stderr.on('data', (d: Buffer) => (err += d.toString()));
        launcher.stdout.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<number | null>((resolve) => launcher.on('exit', resolve));
        const api = `http://127.0.0.1:${port}`;
        const json = async (method: string, path: string, body?: unknown, token?: string) => {
          const res = await fetch(`${api}${path}`, {
            method,
            headers: {
              'content-type': 'application/json',
              ...(token ? { authorization: `session_id ${token}` } : {}),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        try {
          for (let i = 0; ; i++) {
            if (
              await fetch(`${api}/ping`).then(
                (r) => r.ok,
                () => false,
              )
            )
              break;
            if (i > 300) throw new Error(`the API did not come up: ${err}`);
            await sleep(50);
          }
          const user = { user_name: `proc-${id}`, password: 'process test pw' };
          await json('POST', '/v1/auth/register', user);
          const token = (await json('POST', '/v1/auth/login', user)).body.session_id as string;
          const chat = (await json('POST', '/v1/chats', { chat_name: 'proc' }, token)).body.chat_id as string;
          await json('POST', `/v1/chats/${chat}/messages`, { message: 'consumers consume jobs' }, token);
          const task = (await json('POST', '/v1/chats/search', { message: 'consumer' }, token)).body
            .task_id as string;
          let status = '';
          for (let i = 0; i < 200 && status !== 'SUCCESS'; i++) {
            status = (await json('GET', `/v1/chats/search/status/${task}`, undefined, token)).body
              .status as string;
            await sleep(50);
          }
          expect(status).to.equal('SUCCESS');
          const results = await json('GET', `/v1/chats/search/${task}/messages?limit=5`, undefined, token);
          expect((results.body.messages as Array<{ text: string }>).map((m) => m.text)).to.deep.equal([
            'consumers consume jobs',
          ]);
        } finally {
          launcher.kill('SIGTERM');
          expect(await exited, err).to.equal(0);
          const amqp = await import('amqplib');
          const connection = await amqp.connect(amqpUrl!);
          const channel = await connection.createChannel();
          // The topology the processes declared, read from the same variables they were given.
          await deleteTopology(channel, loadConfig(names).queue);
          await connection.close();
        }
      });
    },
  );
});
