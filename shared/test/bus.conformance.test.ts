/**
 * One conformance suite for the Bus interface, run against MemoryBus (always) and RedisBus
 * (TEST_REDIS_URL). Every channel of a run is under `test-bus-<random>:`, so that parallel runs on
 * one Redis never hear each other. Pub/sub keeps nothing on the server: there is nothing to delete.
 *
 * A message that must not arrive is checked with a marker published after it on the same channel:
 * once the marker is in, the message would have been too, as delivery keeps each channel's order.
 */
import { expect } from 'chai';
import { connectBus, type Bus, type BusLogger } from '../src/bus/index.ts';
import { loadConfig } from '../src/config.ts';
import { handles, listen } from './support/bus.ts';
import { describeRealService, realService, rejectionOf, sleep, uniqueTag } from './support/real-services.ts';

function describeBus(backend: Bus['backend'], redisUrl: () => string): void {
  const prefix = `test-bus-${uniqueTag()}:`;
  let opened: Bus[] = [];
  let count = 0;
  /** A channel no other test uses. */
  const channel = (name: string): string => `${name}:${++count}`;
  const open = async (keyPrefix = prefix, logger?: BusLogger): Promise<Bus> => {
    const url = backend === 'redis' ? redisUrl() : 'memory://';
    const bus = await connectBus(loadConfig({ REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix }), logger);
    opened.push(bus);
    return bus;
  };

  afterEach(async () => {
    for (const bus of opened) await bus.close();
    opened = [];
  });

  it('is the backend its URL names', async () => {
    expect((await open()).backend).to.equal(backend);
  });

  it('delivers a message to every subscriber of the channel, on this bus and on another', async () => {
    const [bus, other] = [await open(), await open()];
    const c = channel('fan-out');
    const heard = [await listen(bus, c), await listen(bus, c), await listen(other, c)];
    await bus.publish(c, 'hello');
    for (const h of heard) await h.until('hello');
    expect(heard.map((h) => h.messages)).to.deep.equal([['hello'], ['hello'], ['hello']]);
  });

  it('delivers only on the channel published to', async () => {
    const bus = await open();
    const [a, b] = [channel('a'), channel('b')];
    const [onA, onB] = [await listen(bus, a), await listen(bus, b)];
    await bus.publish(a, 'for a');
    await bus.publish(b, 'marker');
    await onA.until('for a');
    await onB.until('marker');
    expect({ a: onA.messages, b: onB.messages }).to.deep.equal({ a: ['for a'], b: ['marker'] });
  });

  it('delivers many messages in the order they were published, to each subscriber', async () => {
    const [bus, other] = [await open(), await open()];
    const c = channel('order');
    const [here, there] = [await listen(bus, c), await listen(other, c)];
    const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => bus.publish(c, m)));
    await here.until('m499');
    await there.until('m499');
    expect(here.messages).to.deep.equal(sent);
    expect(there.messages).to.deep.equal(sent);
  });

  it('lets two buses with the same key prefix (two API processes) hear each other', async () => {
    const [first, second] = [await open(), await open()];
    const c = channel('peers');
    const [onFirst, onSecond] = [await listen(first, c), await listen(second, c)];
    await first.publish(c, 'from first');
    await second.publish(c, 'from second');
    await onFirst.until('from second');
    await onSecond.until('from second');
    expect(onFirst.messages).to.deep.equal(['from first', 'from second']);
    expect(onSecond.messages).to.deep.equal(['from first', 'from second']);
  });

  it('keeps buses with different key prefixes apart', async () => {
    const [mine, theirs] = [await open(`${prefix}mine:`), await open(`${prefix}theirs:`)];
    const c = channel('prefixed');
    const [onMine, onTheirs] = [await listen(mine, c), await listen(theirs, c)];
    await mine.publish(c, 'mine only');
    await theirs.publish(c, 'marker');
    await onMine.until('mine only');
    await onTheirs.until('marker');
    expect(onTheirs.messages).to.deep.equal(['marker']);
    expect(onMine.messages).to.deep.equal(['mine only']);
  });

  it('does not deliver a message published before subscribing', async () => {
    const bus = await open();
    const c = channel('late');
    await bus.publish(c, 'before');
    const heard = await listen(bus, c);
    await bus.publish(c, 'after');
    await heard.until('after');
    expect(heard.messages).to.deep.equal(['after']);
  });

  it('delivers after publish returns, never inside its call stack', async () => {
    const bus = await open();
    const c = channel('async');
    const heard = await listen(bus, c);
    const publishing = bus.publish(c, 'later');
    expect(heard.messages).to.deep.equal([]);
    await publishing;
    await heard.until('later');
  });

  it('stops delivering to a subscriber that unsubscribed, and only to it', async () => {
    const bus = await open();
    const c = channel('unsubscribe');
    const [leaving, staying] = [await listen(bus, c), await listen(bus, c)];
    await bus.publish(c, 'one');
    await leaving.until('one');
    await leaving.unsubscribe();
    await leaving.unsubscribe();
    await bus.publish(c, 'two');
    await staying.until('two');
    expect({ leaving: leaving.messages, staying: staying.messages }).to.deep.equal({
      leaving: ['one'],
      staying: ['one', 'two'],
    });
  });

  it('subscribes again to a channel its last subscriber left', async () => {
    const bus = await open();
    const c = channel('again');
    const first = await listen(bus, c);
    const unsubscribing = first.unsubscribe();
    const second = await listen(bus, c);
    await unsubscribing;
    await bus.publish(c, 'back');
    await second.until('back');
    expect({ first: first.messages, second: second.messages }).to.deep.equal({ first: [], second: ['back'] });
  });

  it('keeps delivering to the other subscribers when one throws, and logs the error', async () => {
    const logged: unknown[] = [];
    const record = (obj: object, msg?: string): void => void logged.push({ ...obj, msg });
    const bus = await open(prefix, { warn: record, error: record });
    const c = channel('throws');
    const failure = new Error('a subscriber failing on purpose');
    await bus.subscribe(c, () => {
      throw failure;
    });
    const heard = await listen(bus, c);
    await bus.publish(c, 'one');
    await bus.publish(c, 'two');
    await heard.until('two');
    expect(heard.messages).to.deep.equal(['one', 'two']);
    const entry = { err: failure, channel: c, msg: 'a bus subscriber threw' };
    expect(logged).to.deep.equal([entry, entry]);
  });

  it('rejects publish and subscribe once closed, and closes twice without complaint', async () => {
    const bus = await open();
    await bus.close();
    await bus.close();
    expect((await rejectionOf(() => bus.publish(channel('closed'), 'x'))).message).to.equal(
      'the bus is closed',
    );
    expect((await rejectionOf(() => bus.subscribe(channel('closed'), () => {}))).message).to.equal(
      'the bus is closed',
    );
  });

  it('stops delivery and leaves no socket or timer open once closed', async () => {
    const other = await open();
    const c = channel('close');
    await sleep(50);
    const before = handles();
    const bus = await connectBus(
      loadConfig({ REDIS_URL: backend === 'redis' ? redisUrl() : 'memory://', REDIS_KEY_PREFIX: prefix }),
    );
    const closing = await listen(bus, c);
    const staying = await listen(other, c);
    bus.onResubscribed(() => {});
    await other.publish(c, 'open');
    await closing.until('open');
    await bus.close();
    await other.publish(c, 'closed');
    await staying.until('closed');
    expect(closing.messages).to.deep.equal(['open']);
    await sleep(50);
    expect(handles()).to.deep.equal(before);
  });
}

describe('Bus conformance', () => {
  describe('MemoryBus (memory://)', () => {
    describeBus('memory', () => 'memory://');
  });

  const redis = realService('Redis', 'TEST_REDIS_URL', 'redis://127.0.0.1:6379/0');
  describeRealService('RedisBus', redis, (url) => {
    describeBus('redis', () => {
      if (url === undefined) throw new Error('TEST_REDIS_URL is not set');
      return url;
    });
  });
});
