/**
 * The consumer process when PostgreSQL stops during searches, against a private PostgreSQL and Redis
 * and the shared RabbitMQ (a topology of the test's own): searches keep coming through the API, the
 * consumer is paused for a moment so jobs are in its hands when the database goes, then the database
 * is away for a few seconds. The consumer must stay up, and every search the API accepted must finish
 * SUCCESS with all its results once the database is back: none lost, none stuck, none FAILED.
 */
import { expect } from 'chai';
import { PrivatePostgres } from '../../test/support/private-postgres.ts';
import { PrivateRedis } from '../../test/support/private-redis.ts';
import {
  startApi,
  startConsumer,
  stopService,
  type ApiProcess,
  type ServiceProcess,
} from '../../api/test/support/api-process.ts';
import { uniqueTopology } from '../../api/test/support/backends.ts';
import {
  createChat,
  describeFaults,
  describeOutcomes,
  documented503,
  OUTAGE_MS,
  post,
  signUp,
  type Member,
} from '../../api/test/support/faults.ts';
import { call, runLoad, sleep, summarize, type Outcome } from '../../api/test/support/load.ts';
import { describeRealService, realService } from '../../shared/test/support/real-services.ts';

/** Messages that match the phrase: every finished search must find all of them. */
const MATCHES = 20;

interface TaskStatus {
  status: string;
  result_count?: number | null;
  partial?: boolean;
  reason?: string | null;
}

describeFaults('the consumer when PostgreSQL stops during searches', function () {
  this.timeout(120_000);
  describeRealService(
    'with RabbitMQ',
    realService('RabbitMQ', 'TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672'),
    (amqpUrl) => {
      let pg: PrivatePostgres;
      let redis: PrivateRedis;
      let api: ApiProcess;
      let consumer: ServiceProcess;
      let alice: Member;
      let searches: Outcome[];
      let finished: Map<string, TaskStatus>;
      let allDoneMs: number | undefined;

      const status = async (taskId: string): Promise<TaskStatus | undefined> => {
        const o = await call(api.url, 'status', 'GET', `/v1/chats/search/status/${taskId}`, {
          token: alice.token,
          timeoutMs: 5_000,
        });
        return o.status === 200 ? (o.body as TaskStatus) : undefined;
      };

      before(async () => {
        [pg, redis] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
        const env = {
          DATABASE_URL: pg.url,
          REDIS_URL: redis.url,
          AMQP_URL: amqpUrl!,
          DATABASE_POOL_SIZE: '4',
          ...uniqueTopology(),
        };
        api = await startApi(env);
        consumer = await startConsumer(env);
        alice = await signUp(api.url, 'search-fault');
        const chat = await createChat(api.url, alice);
        for (let i = 0; i < MATCHES; i++) {
          expect(
            (await post(api.url, alice, chat, 'seed', { text: `haystack needle ${i}` })).status,
          ).to.equal(201);
        }

        const load = runLoad({
          clients: 3,
          pauseMs: 20,
          maxMs: 60_000,
          while: () => api.alive(),
          step: async () => [
            await call(api.url, 'search', 'POST', '/v1/chats/search', {
              token: alice.token,
              body: { message: 'needle' },
              timeoutMs: 10_000,
            }),
          ],
        });
        await sleep(1_000);
        // Paused, the consumer holds prefetched jobs (maybe a query in flight) when the database stops.
        consumer.child.kill('SIGSTOP');
        await sleep(300);
        try {
          await pg.stop('fast');
        } finally {
          consumer.child.kill('SIGCONT');
        }
        await sleep(OUTAGE_MS);
        await pg.restart();
        const up = Date.now();
        await sleep(1_000);
        searches = await load.stop();

        // Every accepted task, polled until it finishes (bounded): how long until the last one did.
        const accepted = searches
          .filter((o) => o.status === 201)
          .map((o) => (o.body as { task_id: string }).task_id);
        finished = new Map();
        const until = Date.now() + 30_000;
        while (finished.size < accepted.length && Date.now() < until && api.alive() && consumer.alive()) {
          for (const taskId of accepted.filter((id) => !finished.has(id))) {
            const s = await status(taskId);
            if (s && (s.status === 'SUCCESS' || s.status === 'FAILED')) finished.set(taskId, s);
          }
          if (finished.size < accepted.length) await sleep(100);
        }
        if (finished.size === accepted.length) allDoneMs = Date.now() - up;
        for (const taskId of accepted.filter((id) => !finished.has(id))) {
          finished.set(taskId, (await status(taskId)) ?? { status: 'unknown' });
        }
        const counts = new Map<string, number>();
        for (const s of finished.values()) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
        console.log(
          `      PostgreSQL stopped ${OUTAGE_MS} ms during searches: ${summarize(searches)}; ` +
            `tasks: ${[...counts].map(([s, n]) => `${n}×${s}`).join(' ')}; ` +
            `all finished ${allDoneMs ?? 'never'} ms after the database was back`,
        );
      });

      after(async () => {
        await Promise.all([stopService(consumer), stopService(api)]);
        await Promise.all([pg?.destroy(), redis?.destroy()]);
      });

      it('keeps the consumer process and the API running', () => {
        expect(consumer.alive(), consumer.output().slice(-3_000)).to.equal(true);
        expect(api.alive(), api.output().slice(-3_000)).to.equal(true);
      });

      it('answers new searches with 201 or the documented 503 only', () => {
        const bad = searches.filter((o) => !(o.status === 201 || documented503(o)));
        expect(bad, describeOutcomes(bad)).to.deep.equal([]);
        expect(searches.filter((o) => o.status === 201).length).to.be.greaterThan(0);
      });

      it('finishes every accepted search SUCCESS with all its results once the database is back', () => {
        const wrong = [...finished].filter(
          ([, s]) => s.status !== 'SUCCESS' || s.result_count !== MATCHES || s.partial !== false,
        );
        expect(
          wrong.slice(0, 5).map(([id, s]) => ({ id, ...s })),
          `${wrong.length} of ${finished.size} tasks`,
        ).to.deep.equal([]);
      });
    },
  );
});
