/**
 * Redis going away, against a private server the test owns: frozen (SIGSTOP) under load, flushed
 * (FLUSHALL), and killed then started again empty. Redis is a cache and a fast path only: the API
 * must stay up and answer within the bound while it hangs, and after it loses its data no session
 * may be lost or revived, no page may be stale, and an Idempotency-Key retry must be replayed.
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
  healthyAfter,
  historyTexts,
  logIn,
  mixedLoad,
  expectNewestPage,
  expectWritesKept,
  freezeUnderLoad,
  pageTexts,
  post,
  readPage,
  signUp,
  writeLedger,
  type Member,
} from '../support/faults.ts';
import { call, latency, sleep, summarize, uniqueText, type Outcome } from '../support/load.ts';

describeFaults('the API when Redis freezes, is flushed, or restarts empty', function () {
  this.timeout(120_000);
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let api: ApiProcess;
  let apiEnv: Record<string, string>;
  let alice: Member;
  let busyChat: string;
  let quietChat: string;

  before(async () => {
    ({ pg, redis, env: apiEnv } = await startPrivateServices());
    api = await startApi(apiEnv);
    ({ member: alice, busyChat, quietChat } = await memberWithChats(api.url, 'redis-fault'));
  });

  after(async () => {
    await stopService(api);
    await destroyPrivateServices({ pg, redis });
  });

  /** A fresh session of `member` that is then logged out (200). */
  async function loggedOutSession(member: Member): Promise<Member> {
    const session = { ...member, token: await logIn(api.url, member.userName, member.password) };
    const o = await call(api.url, 'logout', 'POST', '/v1/auth/logout', { token: session.token });
    expect(o.status, JSON.stringify(o.body)).to.equal(200);
    return session;
  }

  const sessionStatus = async (member: Member) =>
    (await call(api.url, 'session', 'GET', '/v1/users/me', { token: member.token })).status;

  /** A post with an Idempotency-Key, and the same request sent again later. */
  function idempotentPost(member: Member, chatId: string) {
    const key = `fault-${uniqueText('key').replace(' ', '-')}`;
    const text = uniqueText('idempotent');
    const send = () =>
      post(api.url, member, chatId, 'idempotent', { text, headers: { 'Idempotency-Key': key } });
    return { text, send };
  }

  /** The retry answers what the first try did, marked replayed, and the message is stored once. */
  async function expectReplayed(retry: ReturnType<typeof idempotentPost>, first: Outcome) {
    const again = await retry.send();
    const copies = (await historyTexts(api.url, alice, busyChat)).filter((t) => t === retry.text).length;
    expect({
      status: again.status,
      replayed: again.headers?.get('idempotent-replayed'),
      body: again.body,
      copies,
    }).to.deep.equal({ status: 201, replayed: 'true', body: first.body, copies: 1 });
  }

  describe(`frozen (SIGSTOP) for ${OUTAGE_MS / 1000} s under load, then thawed`, () => {
    let outcomes: Outcome[];
    let frozen: Outcome[];
    /** When the freeze began (ms since the epoch). */
    let froze: number;
    let firstWriteMs: number | undefined;
    let checkFrozen: Awaited<ReturnType<typeof health>>;
    let stored: string[] | undefined;

    before(async () => {
      ({ outcomes, frozen, froze, checkFrozen, firstWriteMs, stored } = await freezeUnderLoad(
        api,
        alice,
        { busy: busyChat, quiet: quietChat },
        redis,
        { outageMs: OUTAGE_MS, answerBoundMs: FROZEN_ANSWER_MS },
      ));
      const ledger = writeLedger(
        outcomes.filter((o) => o.op === 'post' || o.op === 'probe'),
        stored ?? [],
      );
      console.log(
        `      Redis frozen ${OUTAGE_MS} ms: ${summarize(outcomes)}; started while frozen: ${summarize(frozen)}; ` +
          `first write ${firstWriteMs ?? 'never'} ms after the thaw; acknowledged ${ledger.acknowledged}, ` +
          `lost ${ledger.lost.length}, phantom ${ledger.phantom.length}`,
      );
    });

    it('keeps the API process running', () => {
      expect(api.alive(), api.output().slice(-3_000)).to.equal(true);
    });

    it(`answers every request within ${FROZEN_ANSWER_MS / 1000} s`, () => {
      const slow = outcomes.filter((o) => o.status === 0 || latency(o) > FROZEN_ANSWER_MS);
      expect(slow.length, describeOutcomes(slow, froze)).to.equal(0);
    });

    it('answers with 200, 201 or the documented 503 only', () => {
      expect(frozen.length).to.be.greaterThan(0);
      const bad = outcomes.filter((o) => !(o.status === 200 || o.status === 201 || documented503(o)));
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
    });

    it(`/check reports the frozen store down (503) within ${FROZEN_ANSWER_MS / 1000} s`, () => {
      expect(checkFrozen).to.include({ status: 503, database: true, store: false });
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

  describe('flushed (FLUSHALL on the private Redis)', () => {
    let loggedOut: Member;
    let retry: ReturnType<typeof idempotentPost>;
    let first: Outcome;

    before(async () => {
      if (!api.alive()) api = await startApi(apiEnv);
      loggedOut = await loggedOutSession(alice);
      retry = idempotentPost(alice, busyChat);
      first = await retry.send();
      expect(first.status, JSON.stringify(first.body)).to.equal(201);
      expect((await readPage(api.url, alice, busyChat)).status).to.equal(200);
      await redis.flushAll();
      expect(await redis.dbSize()).to.equal(0);
    });

    it('keeps the session: the next request with it is 200', async () => {
      expect(await sessionStatus(alice)).to.equal(200);
    });

    it('does not revive a logged-out session', async () => {
      expect(await sessionStatus(loggedOut)).to.equal(401);
    });

    it('replays an Idempotency-Key retry and stores the message once', async () => {
      await expectReplayed(retry, first);
    });

    it('serves no stale page: a post after the flush is in the next read', async () => {
      expect((await post(api.url, alice, busyChat)).status).to.equal(201);
      const stored = await historyTexts(api.url, alice, busyChat);
      expect(await pageTexts(api.url, alice, busyChat)).to.deep.equal(stored.slice(-50).reverse());
    });
  });

  describe('frozen while sessions are ended (logout-all, password change)', () => {
    /** A member with two sessions, both used once so that the store holds them as alive. */
    async function twoSessions(base: string): Promise<[Member, Member]> {
      const first = await signUp(api.url, base);
      const second = { ...first, token: await logIn(api.url, first.userName, first.password) };
      for (const m of [first, second]) expect(await sessionStatus(m)).to.equal(200);
      return [first, second];
    }
    const logoutAll = (m: Member) =>
      call(api.url, 'logout-all', 'POST', '/v1/auth/logout-all', { token: m.token });
    const changePassword = (m: Member, newPassword: string) =>
      call(api.url, 'password', 'POST', '/v1/auth/password', {
        token: m.token,
        body: { old_password: m.password, new_password: newPassword },
      });
    const canLogIn = async (m: Member, password: string) =>
      (
        await call(api.url, 'login', 'POST', '/v1/auth/login', {
          body: { user_name: m.userName, password },
        })
      ).status === 200;

    /** Sends the call again until the store is back and it answers 200 (at most 5 s). */
    async function retried(send: () => Promise<Outcome>): Promise<Outcome> {
      const until = Date.now() + 5_000;
      for (;;) {
        const o = await send();
        if (o.status !== 503 || Date.now() > until) return o;
        await sleep(100);
      }
    }

    let leaving: [Member, Member];
    let changing: [Member, Member];
    let logoutAllFrozen: Outcome;
    let passwordFrozen: Outcome;
    const NEW_PASSWORD = 'a new fault test password';

    before(async () => {
      if (!api.alive()) api = await startApi(apiEnv);
      leaving = await twoSessions('logout-all');
      changing = await twoSessions('password');
      redis.freeze();
      try {
        [logoutAllFrozen, passwordFrozen] = await Promise.all([
          logoutAll(leaving[0]),
          changePassword(changing[0], NEW_PASSWORD),
        ]);
      } finally {
        redis.thaw();
      }
    });

    it('a logout-all either ends every session (200) or changes nothing (503); a retry ends them all', async () => {
      expect([200, 503], JSON.stringify(logoutAllFrozen.body)).to.include(logoutAllFrozen.status);
      const expected = logoutAllFrozen.status === 200 ? 401 : 200;
      expect([await sessionStatus(leaving[0]), await sessionStatus(leaving[1])]).to.deep.equal([
        expected,
        expected,
      ]);
      if (logoutAllFrozen.status === 503) {
        expect((await retried(() => logoutAll(leaving[0]))).status).to.equal(200);
        expect([await sessionStatus(leaving[0]), await sessionStatus(leaving[1])]).to.deep.equal([401, 401]);
      }
    });

    it('a password change either takes effect everywhere (200) or changes nothing (503); a retry does it', async () => {
      expect([200, 503], JSON.stringify(passwordFrozen.body)).to.include(passwordFrozen.status);
      if (passwordFrozen.status === 503) {
        expect(await sessionStatus(changing[1])).to.equal(200);
        expect(await canLogIn(changing[0], changing[0].password)).to.equal(true);
        expect((await retried(() => changePassword(changing[0], NEW_PASSWORD))).status).to.equal(200);
      }
      expect(await sessionStatus(changing[0])).to.equal(200);
      expect(await sessionStatus(changing[1])).to.equal(401);
      expect(await canLogIn(changing[0], NEW_PASSWORD)).to.equal(true);
    });
  });

  describe(`killed for ${OUTAGE_MS / 1000} s under load, then started again empty`, () => {
    let outcomes: Outcome[];
    let away: Outcome[];
    let loggedOut: Member;
    let loggingOut: Member;
    let logout: Outcome;
    let retry: ReturnType<typeof idempotentPost>;
    let first: Outcome;
    let firstWriteMs: number | undefined;
    let checkAway: Awaited<ReturnType<typeof health>>;
    /** ms from the restart until /check answered 200. */
    let healthyMs: number | undefined;
    let stored: string[] | undefined;

    before(async () => {
      if (!api.alive()) api = await startApi(apiEnv);
      loggedOut = await loggedOutSession(alice);
      loggingOut = { ...alice, token: await logIn(api.url, alice.userName, alice.password) };
      retry = idempotentPost(alice, busyChat);
      first = await retry.send();
      expect(first.status, JSON.stringify(first.body)).to.equal(201);
      const load = mixedLoad(api, alice, busyChat, quietChat, 10_000);
      await sleep(500);
      await redis.stop();
      const down = Date.now();
      await sleep(OUTAGE_MS / 2);
      logout = await call(api.url, 'logout', 'POST', '/v1/auth/logout', { token: loggingOut.token });
      checkAway = await health(api);
      await sleep(OUTAGE_MS / 2);
      const back = Date.now();
      await redis.restart();
      const up = Date.now();
      const probes: Outcome[] = [];
      firstWriteMs = await firstWrite(api, alice, busyChat, up, probes);
      healthyMs = await healthyAfter(api, up);
      await sleep(500);
      outcomes = [...(await load.stop()), ...probes, logout];
      away = outcomes.filter((o) => o.started >= down && o.ended <= back);
      stored = api.alive() ? await historyTexts(api.url, alice, busyChat) : undefined;
      console.log(
        `      Redis killed ${OUTAGE_MS} ms: ${summarize(outcomes)}; while away: ${summarize(away)}; ` +
          `logout while away answered ${logout.status || logout.error}; first write ${firstWriteMs ?? 'never'} ms ` +
          `and /check 200 ${healthyMs ?? 'never'} ms after the restart`,
      );
    });

    it('keeps the API process running', () => {
      expect(api.alive(), api.output().slice(-3_000)).to.equal(true);
    });

    it(`answers every request within ${FROZEN_ANSWER_MS / 1000} s, with 200, 201 or the documented 503 only`, () => {
      const bad = outcomes.filter(
        (o) => latency(o) > FROZEN_ANSWER_MS || !(o.status === 200 || o.status === 201 || documented503(o)),
      );
      expect(bad, describeOutcomes(bad)).to.deep.equal([]);
    });

    it('a logout while Redis is away either ends the session (200) or changes nothing (503)', async () => {
      expect([200, 503], JSON.stringify(logout.body)).to.include(logout.status);
      expect(await sessionStatus(loggingOut)).to.equal(logout.status === 200 ? 401 : 200);
    });

    it('/check reports the store down (503) while it is away, and 200 again within 5 s of its restart', () => {
      expect(checkAway).to.include({ status: 503, database: true, store: false });
      expect(healthyMs, '/check never answered 200 again').to.be.a('number');
      expect(healthyMs).to.be.at.most(5_000);
    });

    it('keeps the session and revives no logged-out one after the restart', async () => {
      expect(await sessionStatus(alice)).to.equal(200);
      expect(await sessionStatus(loggedOut)).to.equal(401);
    });

    it('replays an Idempotency-Key retry sent before the restart, storing the message once', async () => {
      await expectReplayed(retry, first);
    });

    it('takes writes again after the restart, and serves no stale page', async () => {
      expect(firstWriteMs, 'no write got through after the restart').to.be.a('number');
      const now = await historyTexts(api.url, alice, busyChat);
      expect(await pageTexts(api.url, alice, busyChat)).to.deep.equal(now.slice(-50).reverse());
    });

    it('loses no acknowledged write and stores none that got an error', () => {
      expectWritesKept(outcomes, stored, { someAcknowledged: false });
    });
  });
});
