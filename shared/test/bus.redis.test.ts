/**
 * What only the Redis bus does: the key prefix on the server, a server that never answers, and a
 * private redis-server of this suite's own that it kills, restarts and freezes (never the shared one).
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis.ts';
import { connectBus, RedisBus, type Bus, type BusLogger } from '../src/bus/index.ts';
import { loadConfig } from '../src/config.ts';
import { DependencyUnavailableError } from '../src/errors.ts';
import { eventually, listen } from './support/bus.ts';
import { describeRealService, realService, rejectionOf, sleep, uniqueTag } from './support/real-services.ts';

const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');

/** Answers how long `fn` took to reject, and with what. */
async function timedRejection(fn: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const started = Date.now();
  const err = await rejectionOf(fn);
  return { err, ms: Date.now() - started };
}

describeRealService('RedisBus on the server', redis, (url) => {
  it('publishes on the channel name under its key prefix', async () => {
    const prefix = `test-bus-${uniqueTag()}:`;
    const raw = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const bus = await connectBus(loadConfig({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix }));
    try {
      await raw.connect();
      const heard: [string, string][] = [];
      raw.on('message', (channel: string, message: string) => heard.push([channel, message]));
      await raw.subscribe(`${prefix}events`);
      await bus.publish('events', 'new');
      await eventually('the raw subscriber hears it', () => heard.length > 0);
      expect(heard).to.deep.equal([[`${prefix}events`, 'new']]);
    } finally {
      await bus.close();
      raw.disconnect();
    }
  });
});

describeRealService('RedisBus when its own Redis is killed or frozen', redis, () => {
  let server: PrivateRedis;
  let buses: Bus[] = [];
  const open = async (logger?: BusLogger): Promise<Bus> => {
    const bus = await connectBus(
      loadConfig({ REDIS_URL: server.url, REDIS_KEY_PREFIX: `test-bus-${uniqueTag()}:` }),
      logger,
    );
    buses.push(bus);
    return bus;
  };
  /** Publishes until Redis takes it again (the client reconnects by itself, 200 ms to 2 s apart). */
  const publishOnceBack = async (bus: Bus, channel: string, message: string): Promise<void> => {
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        return await bus.publish(channel, message);
      } catch (err) {
        if (!(err instanceof DependencyUnavailableError) || Date.now() > until) throw err;
        await sleep(50);
      }
    }
  };

  before(async function () {
    this.timeout(20_000);
    server = await PrivateRedis.start();
  });

  afterEach(async function () {
    this.timeout(20_000);
    for (const bus of buses) await bus.close();
    buses = [];
    server.thaw();
    if (server.pid === undefined) await server.restart();
  });

  after(async () => {
    await server?.destroy();
  });

  it('rejects publish and subscribe at once while Redis is down, then subscribes again and says so', async function () {
    this.timeout(30_000);
    const warnings: string[] = [];
    const bus = await open({ warn: (_obj, msg) => warnings.push(msg ?? ''), error: () => {} });
    const heard = await listen(bus, 'events');
    let resubscribed = 0;
    bus.onResubscribed(() => resubscribed++);
    await server.stop();

    const publish = await timedRejection(() => bus.publish('events', 'while down'));
    expect(publish.err).to.be.instanceOf(DependencyUnavailableError);
    expect(publish.ms).to.be.below(1_500);
    const subscribe = await timedRejection(() => bus.subscribe('other', () => {}));
    expect(subscribe.err).to.be.instanceOf(DependencyUnavailableError);
    expect(subscribe.ms).to.be.below(1_500);

    // Down long enough for several reconnect attempts (200 ms, then 400 ms later, ...).
    await sleep(1_000);
    await server.restart();
    await eventually('onResubscribed is called', () => resubscribed > 0, 10_000);
    await publishOnceBack(bus, 'events', 'back');
    await heard.until('back');
    expect(heard.messages).to.deep.equal(['back']);
    expect(resubscribed).to.equal(1);
    // Once for the loss, however many attempts it took to get back.
    expect(warnings).to.deep.equal(['bus: lost the subscriptions; reconnecting']);
  });

  it('closes without hanging while Redis is down, and leaves no reconnect running', async () => {
    const bus = await open();
    await listen(bus, 'events');
    await server.stop();
    // Long enough for both clients to have seen the loss and be waiting to try again.
    await sleep(300);
    const closing = Date.now();
    await bus.close();
    expect(Date.now() - closing).to.be.below(500);
    const redisBus = bus as RedisBus;
    let reconnects = 0;
    redisBus.publisher.on('reconnecting', () => reconnects++);
    redisBus.subscriber.on('reconnecting', () => reconnects++);
    await sleep(1_000);
    expect(reconnects).to.equal(0);
  });

  it('rejects a publish to a frozen Redis within its command timeout, then at once, and recovers after the thaw', async function () {
    this.timeout(30_000);
    const bus = await open();
    const heard = await listen(bus, 'events');
    server.freeze();

    const first = await timedRejection(() => bus.publish('events', 'frozen'));
    expect(first.err).to.be.instanceOf(DependencyUnavailableError);
    expect(first.ms).to.be.within(900, 2_000);
    // The breaker is open now: the next one does not wait for the timeout again.
    const second = await timedRejection(() => bus.publish('events', 'still frozen'));
    expect(second.err).to.be.instanceOf(DependencyUnavailableError);
    expect(second.ms).to.be.below(100);

    server.thaw();
    await publishOnceBack(bus, 'events', 'thawed');
    await heard.until('thawed');
    // The frozen publish was sent before its timeout: Redis may deliver it late, so it is not compared.
    expect(heard.messages.slice(-1)).to.deep.equal(['thawed']);
  });
});

describe('RedisBus against a server that does not answer (redis://127.0.0.1:1)', () => {
  const url = 'redis://127.0.0.1:1';

  it('fails to connect quickly, naming the URL, and keeps nothing running', async () => {
    const bus = new RedisBus(url, 'test-bus-unreachable:');
    const { err, ms } = await timedRejection(() => bus.connect());
    expect(err).to.be.instanceOf(DependencyUnavailableError);
    expect(err.message).to.contain('Redis at redis://127.0.0.1:1');
    expect(ms).to.be.below(2_500);
    let reconnects = 0;
    bus.publisher.on('reconnecting', () => reconnects++);
    bus.subscriber.on('reconnecting', () => reconnects++);
    // The retry strategy waits 200 ms, 400 ms, ... between attempts.
    await sleep(1_000);
    expect(reconnects).to.equal(0);
    const closing = Date.now();
    await bus.close();
    expect(Date.now() - closing).to.be.below(100);
  });

  it('fails connectBus() quickly for a redis:// URL', async () => {
    const { err, ms } = await timedRejection(() => connectBus(loadConfig({ REDIS_URL: url })));
    expect(err).to.be.instanceOf(DependencyUnavailableError);
    expect(ms).to.be.below(2_500);
  });
});
