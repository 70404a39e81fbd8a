/**
 * SIGTERM under load: two API instances on one private PostgreSQL and Redis, posts through A, the
 * newest page read (and so cached) through B. A must let every running handler finish before it
 * closes Redis and the pool: a post it acknowledged whose cache invalidation was cut off would leave
 * B serving a page without it for up to the cache TTL.
 */
import { expect } from 'chai';
import type { PrivatePostgres } from '../../../test/support/private-postgres.ts';
import type { PrivateRedis } from '../../../test/support/private-redis.ts';
import { startApi, stopService, type ApiProcess } from '../support/api-process.ts';
import { destroyPrivateServices, startPrivateServices } from '../support/fault-stage.ts';
import {
  createChat,
  describeFaults,
  describeOutcomes,
  documented503,
  historyTexts,
  pageTexts,
  post,
  readPage,
  signUp,
  writeLedger,
  type Member,
} from '../support/faults.ts';
import { runLoad, sleep, summarize, type Outcome } from '../support/load.ts';

describeFaults('graceful shutdown of one of two API instances under load', function () {
  this.timeout(90_000);
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let a: ApiProcess;
  let b: ApiProcess;
  let alice: Member;
  let chat: string;
  let outcomes: Outcome[];
  let exitCode: number | string;
  let stored: string[];

  before(async () => {
    let env: Record<string, string>;
    ({ pg, redis, env } = await startPrivateServices());
    // One at a time: both would race to apply the migrations (safe, but slower on two cores).
    a = await startApi(env);
    b = await startApi(env);
    alice = await signUp(a.url, 'shutdown');
    chat = await createChat(a.url, alice);

    // Posts through A as fast as it answers; B keeps reading the newest page, so it is cached.
    const goAway = new AbortController();
    const writers = runLoad({
      clients: 12,
      pauseMs: 0,
      maxMs: 30_000,
      while: () => a.alive() && !goAway.signal.aborted,
      step: async () => [
        await post(a.url, alice, chat, 'post', { timeoutMs: 15_000, signal: goAway.signal }),
      ],
    });
    const reader = runLoad({
      clients: 1,
      pauseMs: 5,
      maxMs: 30_000,
      while: () => a.alive(),
      step: async () => [await readPage(b.url, alice, chat, 'read-b', 5_000)],
    });
    await sleep(1_500);
    // As when a load balancer or a load generator lets go: the clients drop the requests in flight
    // (their connections close, but the handlers run on) and A gets SIGTERM at once.
    goAway.abort();
    a.child.kill('SIGTERM');
    exitCode = await a.exit;
    outcomes = [...(await writers.stop()), ...(await reader.stop())];
    stored = await historyTexts(b.url, alice, chat);
    const dropped = outcomes.filter((o) => o.error === 'aborted');
    console.log(
      `      SIGTERM to A under load: ${summarize(outcomes)}; A exited with ${exitCode}; ` +
        `${dropped.filter((o) => stored.includes(o.text!)).length} of ${dropped.length} dropped posts were stored`,
    );
  });

  after(async () => {
    await Promise.all([stopService(a), stopService(b)]);
    await destroyPrivateServices({ pg, redis });
  });

  it('A exits 0', () => {
    expect(exitCode, a.output().slice(-3_000)).to.equal(0);
  });

  it('A answers every request it accepted with 201 or the documented 503, never a 500', () => {
    // No answer is fine when A had stopped listening (refused) or was closing an idle keep-alive
    // connection as the request went out on it (reset): either way A never read the request, and the
    // ledger below checks that nothing was stored for it.
    const refused = ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'aborted'];
    const bad = outcomes.filter(
      (o) =>
        !(o.status === 200 || o.status === 201 || documented503(o)) &&
        !(o.status === 0 && refused.includes(o.error ?? '')),
    );
    expect(bad, describeOutcomes(bad)).to.deep.equal([]);
  });

  it('every post A acknowledged is in the history B serves, and none that failed', () => {
    const ledger = writeLedger(
      // A post the client dropped may or may not have been stored: neither is wrong.
      outcomes.filter((o) => o.op === 'post' && o.error !== 'aborted'),
      stored,
    );
    expect(ledger.acknowledged).to.be.greaterThan(0);
    expect({ lost: ledger.lost, phantom: ledger.phantom }).to.deep.equal({ lost: [], phantom: [] });
  });

  it("B's cached newest page has every acknowledged post (no invalidation was cut off)", async () => {
    expect(await pageTexts(b.url, alice, chat)).to.deep.equal(stored.slice(-50).reverse());
    expect(a.output()).to.not.contain('could not invalidate the history cache');
  });
});
