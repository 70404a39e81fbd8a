import { expect } from 'chai';
import { RedisStore } from '@messenger/shared';
import { expectError } from './support/expect-error.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('throttling', function () {
  this.timeout(30_000);

  describe('per user, per second', () => {
    let t: TestContext;
    before(async () => {
      t = await TestContext.start({
        THROTTLING: 'on',
        RATE_LIMIT_API: '10/1s',
        RATE_LIMIT_AUTH_IP: '1000/1s',
      });
    });
    after(() => t.stop());

    it('never throttles normal use: tens of sequential requests', async () => {
      const t2 = await TestContext.start({ THROTTLING: 'on' }); // the default: 100 per second
      try {
        const user = await t2.registerUser('normal');
        for (let i = 0; i < 40; i++) {
          const { response } = await user.api.GET('/v1/chats', { params: { query: { limit: 5 } } });
          expect(response.status, `request ${i}`).to.equal(200);
        }
      } finally {
        await t2.stop();
      }
    });

    it('answers a burst over the limit with 429 and the headers, then lets the next second through', async () => {
      const user = await t.registerUser('burst');
      const answers = await Promise.all(
        Array.from({ length: 25 }, () => user.api.GET('/v1/chats', { params: { query: { limit: 1 } } })),
      );
      const limited = answers.filter((a) => a.response.status === 429);
      const ok = answers.filter((a) => a.response.status === 200);
      expect(ok.length).to.be.at.most(10);
      expect(limited.length).to.be.at.least(15);
      const sample = limited[0]!;
      expectError(sample, 429, 'request-limit-exceeded', /retry in/);
      expect(Number(sample.response.headers.get('retry-after'))).to.be.within(1, 1);
      expect(sample.response.headers.get('ratelimit-limit')).to.equal('10');
      expect(sample.response.headers.get('ratelimit-remaining')).to.equal('0');
      expect(Number(sample.response.headers.get('ratelimit-reset'))).to.be.within(0, 1);
      // successful responses carry the headers too
      expect(ok[0]!.response.headers.get('ratelimit-limit')).to.equal('10');
      expect(Number(ok[0]!.response.headers.get('ratelimit-remaining'))).to.be.within(0, 9);

      await sleep(1_100);
      const { response } = await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
      expect(response.status).to.equal(200);
    });

    it('counts each user apart', async () => {
      const [a, b] = await t.registerUsers('a', 'b');
      await Promise.all(
        Array.from({ length: 15 }, () => a.api.GET('/v1/chats', { params: { query: { limit: 1 } } })),
      );
      const { response } = await b.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
      expect(response.status).to.equal(200);
    });

    it('leaves /ping alone', async () => {
      const answers = await Promise.all(Array.from({ length: 30 }, () => t.raw('GET', '/ping')));
      expect(answers.every((a) => a.status === 200)).to.equal(true);
    });
  });

  describe('the login brake', () => {
    let t: TestContext;
    before(async () => {
      t = await TestContext.start({
        THROTTLING: 'on',
        RATE_LIMIT_AUTH_IP: '8/60s',
        RATE_LIMIT_AUTH_NAME: '3/60s',
        TRUSTED_PROXIES: '127.0.0.1',
      });
    });
    after(() => t.stop());

    const login = (userName: string, forwardedFor: string) =>
      t.raw('POST', '/v1/auth/login', {
        headers: { 'content-type': 'application/json', 'X-Forwarded-For': forwardedFor },
        body: JSON.stringify({ user_name: userName, password: 'wrong password' }),
      });

    it('stops password guessing on one user_name after a few tries, from any address', async () => {
      const victim = uniqueName('victim');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await login(victim, `203.0.113.${i + 1}`)).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      const blocked = await login(victim, '203.0.113.99');
      expect(blocked.json).to.deep.include({ message: 'request-limit-exceeded' });
      expect(Number(blocked.headers.get('retry-after'))).to.be.within(1, 60);
    });

    it('limits one client address across user names (X-Forwarded-For from a trusted proxy)', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await login(uniqueName('spray'), '198.51.100.7')).status);
      expect(statuses.slice(0, 8).every((s) => s === 401)).to.equal(true);
      expect(statuses.slice(8)).to.deep.equal([429, 429]);
      // another client behind the same proxy is not affected
      expect((await login(uniqueName('other'), '198.51.100.8')).status).to.equal(401);
    });
  });

  describe('X-Forwarded-For from an untrusted peer', () => {
    it('is ignored: the peer address is the key', async () => {
      const t = await TestContext.start({
        THROTTLING: 'on',
        RATE_LIMIT_AUTH_IP: '3/60s',
        RATE_LIMIT_AUTH_NAME: '100/60s',
      });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await t.raw('POST', '/v1/auth/login', {
            headers: { 'content-type': 'application/json', 'X-Forwarded-For': `192.0.2.${i}` },
            body: JSON.stringify({ user_name: uniqueName('x'), password: 'wrong password' }),
          });
          statuses.push(res.status);
        }
        expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      } finally {
        await t.stop();
      }
    });
  });

  describe('when the store behind the limiter does not answer', () => {
    it('fails open: requests go through (sessions come from the database meanwhile)', async () => {
      const deadRedis = new RedisStore('redis://127.0.0.1:1', `dead-${uniqueName()}:`);
      const t = await TestContext.start(
        { THROTTLING: 'on', RATE_LIMIT_API: '1/1s' },
        { store: deadRedis, worker: false },
      );
      try {
        const user = await t.registerUser('failopen');
        for (let i = 0; i < 5; i++) {
          const { response } = await user.api.GET('/v1/chats', { params: { query: { limit: 1 } } });
          expect(response.status, `request ${i}`).to.equal(200);
        }
      } finally {
        await t.stop();
        await deadRedis.close();
      }
    });
  });

  describe('THROTTLING=off', () => {
    it('sends no rate-limit headers and never answers 429', async () => {
      const t = await TestContext.start({ THROTTLING: 'off', RATE_LIMIT_API: '1/1s' });
      try {
        const user = await t.registerUser('unlimited');
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => user.api.GET('/v1/chats', { params: { query: { limit: 1 } } })),
        );
        expect(answers.map((a) => a.response.status)).to.deep.equal(Array(10).fill(200));
        expect(answers[0]!.response.headers.get('ratelimit-limit')).to.equal(null);
      } finally {
        await t.stop();
      }
    });
  });
});
