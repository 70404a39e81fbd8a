/**
 * The event stream across two API processes (the bundles `make start` runs) on one real PostgreSQL
 * and Redis, as behind nginx: subscribe on one, act on the other, resume on the other, log out on
 * one, stop one with SIGTERM.
 */
import { expect } from 'chai';
import { describeRealService, realService } from '../../shared/test/support/real-services.ts';
import { callApi, startApi, stopService, type ApiProcess } from './support/api-process.ts';
import { RUN_ID, uniqueTopology } from './support/backends.ts';
import { EventClient } from './support/event-client.ts';
import { uniqueName } from './support/test-context.ts';

const call = callApi;

describeRealService(
  'the event stream across two API processes',
  realService('PostgreSQL', 'TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/messenger_test'),
  (postgresUrl) => {
    const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');
    let a: ApiProcess;
    let b: ApiProcess;
    const open: EventClient[] = [];
    const user = async (on: ApiProcess) => {
      const name = uniqueName('streamer');
      const registered = await call(on, 'POST', '/v1/auth/register', undefined, {
        user_name: name,
        password: 'pw pw pw',
      });
      const login = await call(on, 'POST', '/v1/auth/login', undefined, {
        user_name: name,
        password: 'pw pw pw',
      });
      return { id: registered.json.user_id!, name, token: login.json.session_id! };
    };
    const subscribe = async (on: ApiProcess, token: string, lastEventId?: string) => {
      const client = await EventClient.open(on.url, { token, ...(lastEventId && { lastEventId }) });
      open.push(client);
      return client;
    };
    const text = (e: { data: Record<string, unknown> }) => (e.data.message as { text: string }).text;

    before(async function () {
      this.timeout(90_000);
      if (redis.state !== 'available') throw new Error('set TEST_REDIS_URL as well');
      const env = {
        DATABASE_URL: postgresUrl!,
        REDIS_URL: redis.url,
        AMQP_URL: 'memory://',
        REDIS_KEY_PREFIX: `test-${RUN_ID}-events-${uniqueName()}:`,
        ...uniqueTopology(),
      };
      [a, b] = await Promise.all([startApi(env), startApi(env)]);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });
    after(async function () {
      this.timeout(40_000);
      await Promise.all([stopService(a), stopService(b)]);
    });

    it('delivers on one process what happens on the other, and resumes on the other', async function () {
      this.timeout(30_000);
      const [alice, bob] = [await user(a), await user(a)];
      const chatId = (await call(b, 'POST', '/v1/chats', alice.token, { chat_name: 'across' })).json.chat_id!;
      expect(
        (await call(b, 'POST', `/v1/chats/${chatId}/users`, alice.token, { user_name: bob.name })).status,
      ).to.equal(201);
      const first = await subscribe(a, bob.token);
      await call(b, 'POST', `/v1/chats/${chatId}/messages`, alice.token, { message: 'one' });
      expect(text(await first.next('message.created', (d) => d.chat_id === chatId))).to.equal('one');
      const cursor = first.lastEventId!;
      await first.close();

      for (const t of ['two', 'three', 'four']) {
        await call(a, 'POST', `/v1/chats/${chatId}/messages`, alice.token, { message: t });
      }
      const second = await subscribe(b, bob.token, cursor);
      await second.until(() => second.ofType('message.created').length >= 3, 'three missed messages');
      await call(a, 'POST', `/v1/chats/${chatId}/messages`, alice.token, { message: 'five' });
      await second.until(() => second.ofType('message.created').length >= 4, 'the live one');
      expect(second.ofType('message.created').map(text)).to.deep.equal(['two', 'three', 'four', 'five']);
    });

    it('closes a session’s streams on both processes when it logs out on one', async function () {
      this.timeout(30_000);
      const carol = await user(a);
      const onA = await subscribe(a, carol.token);
      const onB = await subscribe(b, carol.token);
      await onA.until(() => onA.retry !== undefined, 'the stream on a');
      await onB.until(() => onB.retry !== undefined, 'the stream on b');
      expect((await call(b, 'POST', '/v1/auth/logout', carol.token)).status).to.equal(200);
      const within = (s: EventClient) =>
        Promise.race([
          s.done,
          new Promise((_, reject) => setTimeout(() => reject(new Error('still open')), 3000)),
        ]);
      await Promise.all([within(onA), within(onB)]);
    });

    it('ends its streams at once on SIGTERM and exits cleanly', async function () {
      this.timeout(30_000);
      const dave = await user(a);
      const stream = await subscribe(a, dave.token);
      await stream.until(() => stream.retry !== undefined, 'the stream');
      const started = Date.now();
      const exit = await stopService(a);
      await stream.done;
      expect(exit).to.equal(0);
      expect(Date.now() - started).to.be.below(5_000);
    });
  },
);
