/** What only the in-process queue does, beyond the conformance suite (queue.conformance.test.ts). */
import { expect } from 'chai';
import { connectQueue, deleteMemoryQueue } from '../src/queue/index.ts';
import { configFor, options, uniqueTopology } from './support/queue-harness.ts';
import { sleep } from './support/real-services.ts';

describe('Queue conformance', () => {
  describe('MemoryQueue (memory://)', () => {
    it('keeps queues with different names apart', async () => {
      const [one, two] = [uniqueTopology(), uniqueTopology()];
      const a = await connectQueue(configFor('memory://', one));
      const b = await connectQueue(configFor('memory://', two));
      try {
        const seen: unknown[] = [];
        await b.consume(async (job) => {
          seen.push(job.body);
        }, options);
        await a.publish({ id: 'for-one' });
        await sleep(50);
        expect(seen).to.deep.equal([]);
      } finally {
        await a.close();
        await b.close();
        deleteMemoryQueue(one.queueName);
        deleteMemoryQueue(two.queueName);
      }
    });
  });
});
