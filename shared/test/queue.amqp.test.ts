/**
 * What only the RabbitMQ queue does, on a real broker (TEST_AMQP_URL): the topology it declares,
 * messages that are not JSON, unroutable jobs, connection failures, and, through a proxy, a broker
 * that goes away or stops answering. The Queue semantics both implementations share are in
 * queue.conformance.test.ts.
 */
import { expect } from 'chai';
import { AmqpQueue, ATTEMPT_HEADER, connectQueue, QueueError, type QueueJob } from '../src/queue/index.ts';
import { BrokerProxy } from './support/broker-proxy.ts';
import {
  amqpService,
  amqpTarget,
  configFor,
  deferred,
  options,
  QUIET_MS,
  rawChannel,
  recordingLogger,
  useQueues,
  waitFor,
  type Body,
} from './support/queue-harness.ts';
import { describeRealService, rejectionOf, sleep } from './support/real-services.ts';

describe('Queue conformance', () => {
  describeRealService('AmqpQueue', amqpService, (url) => {
    describe('on the broker', () => {
      const ctx = useQueues(() => amqpTarget(url!));
      const { openQueue } = ctx;

      it('declares durable queues, the queue dead-lettering to the dead-letter queue', async () => {
        const queue = await openQueue();
        await queue.publish({ id: 'raw' });
        const channel = await rawChannel(ctx.target.raw);
        try {
          expect((await channel.checkQueue(ctx.topology.deadLetterQueue)).messageCount).to.equal(0);
          const message = await channel.get(ctx.topology.queueName);
          if (message === false) throw new Error('the job is not in the queue');
          expect(message.properties).to.include({ contentType: 'application/json', deliveryMode: 2 });
          expect(message.properties.messageId).to.be.a('string').with.length.above(0);
          expect(message.properties.headers).to.deep.include({ [ATTEMPT_HEADER]: 1 });
          expect(JSON.parse(message.content.toString())).to.deep.equal({ id: 'raw' });
          channel.nack(message, false, false);
          await waitFor('the dead letter', async () => (await queue.deadLetterCount()) === 1);
          // Redeclaring with other arguments would fail: the queue has exactly these.
          await channel.assertQueue(ctx.topology.queueName, {
            durable: true,
            deadLetterExchange: ctx.topology.deadLetterExchange,
          });
        } finally {
          await channel.close().catch(() => {});
        }
      });

      it('dead-letters a message that is not JSON without running the handler', async () => {
        const queue = await openQueue();
        let calls = 0;
        await queue.consume(async () => {
          calls++;
        }, options);
        const channel = await rawChannel(ctx.target.raw);
        channel.publish(ctx.topology.exchange, ctx.topology.routingKey, Buffer.from('not json {'));
        await channel.close();
        await waitFor('the dead letter', async () => (await queue.deadLetterCount()) === 1);
        expect(calls).to.equal(0);
      });

      it('rejects a publish no queue takes (unroutable) instead of losing the job', async () => {
        const queue = await openQueue();
        const channel = await rawChannel(ctx.target.raw);
        await channel.deleteQueue(ctx.topology.queueName);
        await channel.close();
        const err = await rejectionOf(() => queue.publish({ id: 'nowhere' }));
        expect(err).to.be.instanceOf(QueueError);
        expect(err.message).to.match(/could not route/);
        // The publisher still works for the next job once the queue is back.
        const again = await openQueue();
        await again.publish({ id: 'somewhere' });
      });

      it('rejects connectQueue quickly when nothing listens, naming the URL without its password', async () => {
        const started = Date.now();
        const err = await rejectionOf(() =>
          connectQueue(configFor('amqp://guest:s3cret@127.0.0.1:1', ctx.topology)),
        );
        expect(Date.now() - started).to.be.below(2_000);
        expect(err).to.be.instanceOf(QueueError);
        expect(err.message).to.include('amqp://guest:***@127.0.0.1:1');
        expect(err.message).not.to.include('s3cret');
      });

      it('answers ping with false within its timeout once closed', async () => {
        const queue = new AmqpQueue(url!, ctx.topology);
        await queue.connect();
        ctx.track(queue);
        expect(await queue.ping(500)).to.equal(true);
        await queue.close();
        const started = Date.now();
        expect(await queue.ping(500)).to.equal(false);
        expect(Date.now() - started).to.be.below(600);
      });

      describe('through a proxy', () => {
        let proxy: BrokerProxy;

        beforeEach(async () => {
          proxy = new BrokerProxy(new URL(url!));
          await proxy.start();
        });

        afterEach(async () => {
          await proxy.stop();
        });

        it('reconnects with backoff while the broker is away, then consumes again (the job in flight redelivered)', async () => {
          const logger = recordingLogger();
          const queue = new AmqpQueue(proxy.url, ctx.topology, {
            logger,
            reconnectInitialDelayMs: 50,
            reconnectMaxDelayMs: 200,
          });
          await queue.connect();
          ctx.track(queue);
          const jobs: QueueJob<Body>[] = [];
          const firstStarted = deferred();
          const release = deferred();
          await queue.consume<Body>(async (job) => {
            jobs.push(job);
            firstStarted.resolve();
            if (jobs.length === 1) await release.promise;
          }, options);
          await queue.publish({ id: 'before-restart' });
          await firstStarted.promise;

          await proxy.stop();
          await waitFor('the drop to be noticed', () => !queue.connected, 1_000);
          const started = Date.now();
          expect(await rejectionOf(() => queue.publish({ id: 'while-down' }))).to.be.instanceOf(QueueError);
          expect(await queue.ping(200)).to.equal(false);
          expect(Date.now() - started).to.be.below(500);
          await waitFor(
            'two failed reconnect attempts',
            () => logger.records.filter((r) => r.msg === 'reconnecting to RabbitMQ failed').length >= 2,
          );

          await proxy.start();
          await waitFor('the reconnection', () => queue.connected);
          expect(await queue.ping(1_000)).to.equal(true);
          await waitFor('the redelivery', () => jobs.length === 2);
          release.resolve();
          await queue.publish({ id: 'after-restart' });
          await waitFor('the new job', () => jobs.length === 3);
          await sleep(QUIET_MS);
          expect(jobs.map((j) => [j.body.id, j.attempt, j.redelivered])).to.deep.equal([
            ['before-restart', 1, false],
            ['before-restart', 1, true],
            ['after-restart', 1, false],
          ]);
          expect(logger.records.map((r) => r.msg)).to.include.members([
            'the connection to RabbitMQ was lost: reconnecting',
            'reconnected to RabbitMQ',
          ]);
        });

        it('rejects connect() within its timeout when the broker takes the connection but never answers', async () => {
          proxy.freeze();
          const queue = new AmqpQueue(proxy.url, ctx.topology, { connectTimeoutMs: 500 });
          const started = Date.now();
          const err = await rejectionOf(() => queue.connect());
          expect(Date.now() - started).to.be.within(400, 1_500);
          expect(err).to.be.instanceOf(QueueError);
          expect(err.message).to.include(`127.0.0.1:${proxy.port}`);
          await queue.close();
        });

        it('rejects a publish the broker does not confirm within the timeout; ping and close do not hang', async () => {
          const queue = new AmqpQueue(proxy.url, ctx.topology, { publishTimeoutMs: 300 });
          await queue.connect();
          ctx.track(queue);
          proxy.freeze();
          let started = Date.now();
          const err = await rejectionOf(() => queue.publish({ id: 'unconfirmed' }));
          expect(Date.now() - started).to.be.within(250, 1_000);
          expect(err).to.be.instanceOf(QueueError);
          expect(err.message).to.match(/did not confirm/);
          started = Date.now();
          expect(await queue.ping(300)).to.equal(false);
          expect(Date.now() - started).to.be.below(600);
          started = Date.now();
          await queue.close();
          expect(Date.now() - started).to.be.below(2_000);
        });
      });
    });
  });
});
