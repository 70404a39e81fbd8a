import { expect } from 'chai';
import type { LoggedEvent } from '../src/events/event-log.ts';
import { EventStream } from '../src/events/event-stream.ts';

const event = (id: number, text: string): LoggedEvent => ({
  id: BigInt(id),
  type: 'message.created',
  chatId: 'c',
  json: JSON.stringify({ chat_id: 'c', text }),
  userIds: null,
  originSession: null,
});

/** Everything the stream has buffered for its reader, as text. */
function buffered(stream: EventStream): string {
  const chunks: string[] = [];
  let chunk: Buffer | null;
  while ((chunk = stream.body.read() as Buffer | null) !== null) chunks.push(chunk.toString());
  return chunks.join('');
}

describe('one event stream (EventStream)', () => {
  it('writes SSE records: retry advice, then id, event and one line of data per event', () => {
    const stream = new EventStream({ userId: 'u' }, 1 << 20, () => {});
    stream.send(event(7, 'hi'));
    stream.sendEphemeral('typing', '{"chat_id":"c"}');
    stream.heartbeat();
    expect(buffered(stream)).to.equal(
      'retry: 3000\n\n' +
        'id: 7\nevent: message.created\ndata: {"chat_id":"c","text":"hi"}\n\n' +
        'event: typing\ndata: {"chat_id":"c"}\n\n' +
        ': keep-alive\n\n',
    );
    expect(stream.position).to.equal(7n);
    stream.end();
  });

  it('ends a reader that falls too far behind with a last resync, and tells its owner once', async () => {
    let closed = 0;
    const stream = new EventStream({ userId: 'u' }, 4096, () => (closed += 1));
    // Nobody reads: every record stays buffered.
    for (let id = 1; id <= 200 && !stream.isClosed; id++) stream.send(event(id, 'x'.repeat(200)));
    expect(stream.isClosed).to.equal(true);
    expect(closed).to.equal(1);
    const text = buffered(stream);
    expect(text.endsWith('event: resync\ndata: {"reason":"too-slow"}\n\n')).to.equal(true);
    // What was written never exceeds the limit by more than the record that crossed it.
    expect(text.length).to.be.below(4096 + 2 * 300);
    await stream.ended;
  });

  it('ends once, whether the server or the reader ends it first', async () => {
    let closed = 0;
    const stream = new EventStream({ userId: 'u' }, 4096, () => (closed += 1));
    stream.body.destroy();
    stream.end();
    await stream.ended;
    expect(closed).to.equal(1);
  });
});
