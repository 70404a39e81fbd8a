/**
 * PostgreSQL going away under load, against a private server the test owns: stopped (`pg_ctl stop
 * -m fast`, every session ends with 57P01) and restarted, then frozen (SIGSTOP, as a hung host or a
 * network black hole) and thawed, while a few clients post and read. The API must stay up, answer
 * only the documented 503 while the database is away, keep serving cached history, take writes again
 * as soon as it is back, and neither lose an acknowledged write nor store one that got an error.
 */
import { expect } from 'chai';
import type { PrivatePostgres } from '../../../test/support/private-postgres.ts';
import type { PrivateRedis } from '../../../test/support/private-redis.ts';
import { startApi, stopService, type ApiProcess } from '../support/api-process.ts';
import { destroyPrivateServices, memberWithChats, startPrivateServices } from '../support/fault-stage.ts';
import {
  describeFaults,
  describeOutcomes,
  documented503,
  firstWrite,
  FROZEN_ANSWER_MS,
  OUTAGE_MS,
  health,
  mixedLoad,
  historyTexts,
  expectNewestPage,
  expectWritesKept,
  freezeUnderLoad,
  writeLedger,
  type Member,
} from '../support/faults.ts';
import { latency, sleep, summarize, type Outcome } from '../support/load.ts';

describeFaults('the API when PostgreSQL stops or freezes under load', function () {
  this.timeout(120_000);
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let api: ApiProcess;
  let alice: Member;
  let busyChat: string;
  let quietChat: string;
  let apiEnv: Record<string, string>;

  before(async () => {
    ({ pg, redis, env: apiEnv } = await startPrivateServices());
    api = await startApi(apiEnv);
    ({ member: alice, busyChat, quietChat } = await memberWithChats(api.url, 'pg-fault'));
  });

  after(async () => {
    await stopService(api);
    await destroyPrivateServices({ pg, redis });
  });

  const unexpected = (outcomes: Outcome[], allowed: (o: Outcome) => boolean) =>
    outcomes.filter((o) => !allowed(o));

  describe(`stopped for ${OUTAGE_MS / 1000} s, then started again`, () => {
    let outcomes: Outcome[];
    let away: Outcome[];
    let firstWriteMs: number | undefined;
    let checkAway: Awaited<ReturnType<typeof health>>;
    let checkBack: Awaited<ReturnType<typeof health>>;
    /** Every text in the chat afterwards (undefined when the API died and cannot be asked). */
    let stored: string[] | undefined;

    before(async () => {
      const load = mixedLoad(api, alice, busyChat, quietChat, 10_000);
      await sleep(1_000);
      await pg.stop('fast');
      const down = Date.now();
      await sleep(OUTAGE_MS / 2);
      checkAway = await health(api);
      await sleep(OUTAGE_MS / 2);
      const back = Date.now();
      await pg.restart();
      const up = Date.now();
      const probes: Outcome[] = [];
      firstWriteMs = await firstWrite(api, alice, busyChat, up, probes);
      checkBack = await health(api);
      await sleep(1_000);
      outcomes = [...(await load.stop()), ...probes];
      away = outcomes.filter((o) => o.started >= down && o.ended <= back);
      stored = api.alive() ? await historyTexts(api.url, alice, busyChat) : undefined;
      const ledger = writeLedger(
        outcomes.filter((o) => o.op === 'post' || o.op === 'probe'),
        stored ?? [],
      );
      console.log(
        `      PostgreSQL stopped ${OUTAGE_MS} ms: ${summarize(outcomes)}; while away: ${summarize(away)}; ` +
          `first write ${firstWriteMs ?? 'never'} ms after it was back (pg_ctl start took ${up - back} ms); ` +
          `acknowledged ${ledger.acknowledged}, failed ${ledger.failed}, lost ${ledger.lost.length}, ` +
          `phantom ${ledger.phantom.length}`,
      );
    });

    it('keeps the API process running', () => {
      expect(api.alive(), api.output().slice(-3_000)).to.equal(true);
    });

    it('answers every request, with 200, 201 or the documented 503 only (never a 500)', () => {
      const bad = unexpected(outcomes, (o) => o.status === 200 || o.status === 201 || documented503(o));
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
    });

    it('answers writes with 503 service-unavailable while the database is away', () => {
      const posts = away.filter((o) => o.op === 'post');
      expect(posts.length).to.be.greaterThan(0);
      const bad = unexpected(posts, documented503);
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
    });

    it('keeps serving a cached history page with 200 while the database is away', () => {
      const reads = away.filter((o) => o.op === 'cached-read');
      expect(reads.length).to.be.greaterThan(0);
      const bad = unexpected(reads, (o) => o.status === 200);
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
    });

    it('/check reports the database down (503) while it is away, and everything up (200) after', () => {
      expect(checkAway).to.include({ status: 503, database: false, store: true });
      expect(checkBack).to.include({ status: 200, database: true, store: true });
    });

    it('takes the first write within a second of the database being back', () => {
      expect(firstWriteMs, 'no write got through after the restart').to.be.a('number');
      expect(firstWriteMs).to.be.at.most(1_000);
    });

    it('serves no stale page afterwards: the cached newest page is the newest in the database', async () => {
      await expectNewestPage(api.url, alice, busyChat, stored);
    });

    it('loses no acknowledged write and stores none that got an error', () => {
      expectWritesKept(outcomes, stored);
    });
  });

  describe(`frozen (SIGSTOP) for ${OUTAGE_MS / 1000} s, then thawed`, () => {
    let outcomes: Outcome[];
    let frozen: Outcome[];
    /** When the freeze began (ms since the epoch). */
    let froze: number;
    let firstWriteMs: number | undefined;
    let checkFrozen: Awaited<ReturnType<typeof health>>;
    /** Every text in the chat afterwards (undefined when the API died and cannot be asked). */
    let stored: string[] | undefined;

    before(async () => {
      // Independent of the stop above: if that killed the API (a failure reported there), start another.
      if (!api.alive()) api = await startApi(apiEnv);
      ({ outcomes, frozen, froze, checkFrozen, firstWriteMs, stored } = await freezeUnderLoad(
        api,
        alice,
        { busy: busyChat, quiet: quietChat },
        pg,
        { outageMs: OUTAGE_MS, answerBoundMs: FROZEN_ANSWER_MS },
      ));
      const slowest = Math.max(0, ...frozen.map(latency));
      console.log(
        `      PostgreSQL frozen ${OUTAGE_MS} ms: ${summarize(outcomes)}; while frozen: ${summarize(frozen)}; ` +
          `slowest answer while frozen ${slowest} ms; first write ${firstWriteMs ?? 'never'} ms after the thaw`,
      );
    });

    it('keeps the API process running', () => {
      expect(api.alive(), api.output().slice(-3_000)).to.equal(true);
    });

    it(`answers every request within ${FROZEN_ANSWER_MS / 1000} s`, () => {
      const slow = outcomes.filter((o) => o.status === 0 || latency(o) > FROZEN_ANSWER_MS);
      expect(slow.length, describeOutcomes(slow, froze)).to.equal(0);
    });

    it('answers with 200, 201 or the documented 503 only, and 503 to writes while frozen', () => {
      const bad = unexpected(outcomes, (o) => o.status === 200 || o.status === 201 || documented503(o));
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
      const posts = frozen.filter((o) => o.op === 'post');
      expect(posts.length).to.be.greaterThan(0);
      expect(
        unexpected(posts, documented503),
        describeOutcomes(unexpected(posts, documented503)),
      ).to.deep.equal([]);
    });

    it('keeps serving a cached history page with 200 while frozen', () => {
      const reads = frozen.filter((o) => o.op === 'cached-read');
      expect(reads.length).to.be.greaterThan(0);
      const bad = unexpected(reads, (o) => o.status === 200);
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
    });

    it(`/check reports the frozen database down (503) within ${FROZEN_ANSWER_MS / 1000} s`, () => {
      expect(checkFrozen).to.include({ status: 503, database: false, store: true });
      expect(checkFrozen.ms).to.be.at.most(FROZEN_ANSWER_MS);
    });

    it('takes writes again after the thaw', () => {
      expect(firstWriteMs, 'no write got through after the thaw').to.be.a('number');
    });

    it('serves no stale page afterwards: the cached newest page is the newest in the database', async () => {
      await expectNewestPage(api.url, alice, busyChat, stored);
    });

    it('loses no acknowledged write and stores none that got an error', () => {
      expectWritesKept(outcomes, stored);
    });
  });
});
