import { expect } from 'chai';
import { TestContext } from './support/test-context.ts';

const APP = 'https://app.example.com';

describe('CORS (CORS_ORIGINS)', () => {
  describe('with an origin listed', () => {
    let t: TestContext;
    before(async () => {
      t = await TestContext.start({ CORS_ORIGINS: `${APP}, http://localhost:5173` });
    });
    after(() => t.stop());

    const preflight = (origin: string, method: string, headers: string) =>
      fetch(new URL('/v1/chats', t.baseUrl), {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': method,
          'Access-Control-Request-Headers': headers,
        },
      });

    it('answers a preflight 204, allowing Authorization, Idempotency-Key and Content-Type', async () => {
      const res = await preflight(APP, 'POST', 'authorization, idempotency-key, content-type');
      expect(res.status).to.equal(204);
      expect(res.headers.get('access-control-allow-origin')).to.equal(APP);
      expect(res.headers.get('access-control-allow-methods')).to.contain('POST');
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const header of ['authorization', 'idempotency-key', 'content-type'])
        expect(allowed).to.contain(header);
      expect(res.headers.get('access-control-allow-credentials')).to.equal(null);
    });

    it('lets the app read the headers clients use, on successes and on errors', async () => {
      const user = await t.registerUser('cors');
      const ok = await fetch(new URL('/v1/chats?limit=5', t.baseUrl), {
        headers: { Origin: APP, Authorization: `session_id ${user.token}` },
      });
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('access-control-allow-origin')).to.equal(APP);
      const exposed = (ok.headers.get('access-control-expose-headers') ?? '').toLowerCase();
      for (const header of [
        'x-request-id',
        'ratelimit-remaining',
        'retry-after',
        'etag',
        'idempotent-replayed',
      ]) {
        expect(exposed).to.contain(header);
      }
      const denied = await fetch(new URL('/v1/chats?limit=5', t.baseUrl), { headers: { Origin: APP } });
      expect(denied.status).to.equal(401);
      expect(denied.headers.get('access-control-allow-origin')).to.equal(APP);
      expect(((await denied.json()) as { message: string }).message).to.equal('auth-failed');
    });

    it('gives an origin that is not listed no CORS headers, so the browser keeps the answer from it', async () => {
      const res = await preflight('https://evil.example', 'POST', 'authorization');
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
      const get = await fetch(new URL('/ping', t.baseUrl), { headers: { Origin: 'https://evil.example' } });
      expect(get.status).to.equal(200);
      expect(get.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });

  describe('by default (no CORS_ORIGINS)', () => {
    let t: TestContext;
    before(async () => {
      t = await TestContext.start();
    });
    after(() => t.stop());

    it('sends no CORS headers: same origin only', async () => {
      const res = await fetch(new URL('/ping', t.baseUrl), { headers: { Origin: APP } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });
});
