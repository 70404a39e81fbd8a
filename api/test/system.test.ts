import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { connectDatabase, loadConfig } from '@messenger/shared';
import type { components } from '../src/generated/openapi.ts';
import { TestContext } from './support/test-context.ts';

/** A 503 of /check is a health report, not an error body. */
const report = (error: unknown) => error as components['schemas']['Health'];

const require = createRequire(import.meta.url);

/** A GET with exactly these headers (fetch would add and undo its own Accept-Encoding). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('system endpoints', () => {
  let t: TestContext;
  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  it('GET /ping answers 200 with a request id', async () => {
    const res = await t.raw('GET', '/ping');
    expect(res.status).to.equal(200);
    expect(res.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('echoes a sane X-Request-Id from the client and replaces an insane one', async () => {
    const kept = await t.raw('GET', '/ping', { headers: { 'X-Request-Id': 'client-id-123' } });
    expect(kept.headers.get('x-request-id')).to.equal('client-id-123');
    const replaced = await t.raw('GET', '/ping', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).to.not.equal('bad id with spaces');
  });

  it('GET /ping_db answers 200 while the database answers', async () => {
    const { response } = await t.api.GET('/ping_db');
    expect(response.status).to.equal(200);
  });

  it('GET and POST /check answer 200 ok with a timed check of every dependency', async () => {
    for (const answer of [await t.api.GET('/check'), await t.api.POST('/check')]) {
      expect(answer.response.status).to.equal(200);
      expect(answer.data!.health).to.equal('ok');
      const { database, store, queue } = answer.data!.checks;
      expect(database).to.include({ backend: t.config.database.backend, ok: true });
      expect(store).to.include({ backend: t.config.store.backend, ok: true });
      expect(queue).to.include({ backend: t.config.queue.backend, ok: true });
      expect(database.ms).to.be.a('number').and.at.least(0);
    }
  });

  it('/check answers 503 fail naming the broker when RabbitMQ does not answer', async () => {
    const noBroker = await TestContext.start(
      { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' },
      { worker: false },
    );
    try {
      // openapi-fetch hands a non-2xx body over as `error`
      const { response, error } = await noBroker.api.GET('/check');
      expect(response.status).to.equal(503);
      expect(report(error).health).to.equal('fail');
      expect(report(error).checks.queue).to.include({ backend: 'amqp', ok: false });
      expect(report(error).checks.queue.error).to.be.a('string');
      expect(report(error).checks.database.ok).to.equal(true);
    } finally {
      await noBroker.stop();
    }
  });

  it('serves its own contract at /openapi.yaml', async () => {
    const res = await t.raw('GET', '/openapi.yaml');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/yaml/);
    expect(res.text).to.match(/^openapi: 3/);
    expect(res.text).to.contain('operationId: listMessages');
  });

  it('serves Swagger UI at /docs from its own assets (no CDN)', async () => {
    const page = await t.raw('GET', '/docs');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('/docs/swagger-ui-bundle.js');
    expect(page.text).to.not.match(/https?:\/\//);
    const bundle = await t.raw('GET', '/docs/swagger-ui-bundle.js');
    expect(bundle.status).to.equal(200);
    expect(bundle.headers.get('content-type')).to.match(/javascript/);
    expect(bundle.text.length).to.be.greaterThan(100_000);
    const css = await t.raw('GET', '/docs/swagger-ui.css');
    expect(css.headers.get('content-type')).to.match(/css/);
    const init = await t.raw('GET', '/docs/docs-init.js');
    expect(init.text).to.contain("url: '/openapi.yaml'");
  });

  it('sends the docs assets compressed as the client accepts, cacheable, and 304 for a current copy', async () => {
    const original = readFileSync(require.resolve('swagger-ui-dist/swagger-ui-bundle.js'));
    const get = (headers: Record<string, string>) => rawGet(t.baseUrl, '/docs/swagger-ui-bundle.js', headers);

    const br = await get({ 'accept-encoding': 'gzip, deflate, br' });
    expect(br.status).to.equal(200);
    expect(br.headers['content-encoding']).to.equal('br');
    expect(br.body.length).to.be.below(original.length / 3);
    expect(brotliDecompressSync(br.body).equals(original)).to.equal(true);
    expect(br.headers['cache-control']).to.equal('public, max-age=86400');
    expect(br.headers['vary']).to.match(/accept-encoding/i);

    const gz = await get({ 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).to.equal('gzip');
    expect(gunzipSync(gz.body).equals(original)).to.equal(true);

    const plain = await get({ 'accept-encoding': 'identity, br;q=0' });
    expect(plain.headers['content-encoding']).to.equal(undefined);
    expect(plain.body.equals(original)).to.equal(true);

    const etag = String(br.headers['etag']);
    const again = await get({ 'if-none-match': etag, 'accept-encoding': 'br' });
    expect(again.status).to.equal(304);
    expect(again.body.length).to.equal(0);
  });

  it('serves a favicon the docs page links to', async () => {
    const page = await t.raw('GET', '/docs');
    expect(page.text).to.contain('rel="icon"');
    const icon = await rawGet(t.baseUrl, '/docs/favicon-32x32.png', {});
    expect(icon.status).to.equal(200);
    expect(icon.headers['content-type']).to.equal('image/png');
    expect(icon.body.subarray(1, 4).toString()).to.equal('PNG');
  });

  it('answers 404 not-found for a docs asset it does not serve (no path traversal)', async () => {
    for (const asset of ['package.json', '..%2F..%2Fpackage.json', 'index.html']) {
      const res = await t.raw('GET', `/docs/${asset}`);
      expect(res.status, asset).to.equal(404);
      expect(res.json).to.deep.include({ message: 'not-found' });
    }
  });

  it('answers 404 not-found for an unknown route and 405 with Allow for a wrong method', async () => {
    const unknown = await t.raw('GET', '/v1/nothing-here');
    expect(unknown.status).to.equal(404);
    expect(unknown.json).to.deep.include({ message: 'not-found' });
    const wrong = await t.raw('DELETE', '/ping');
    expect(wrong.status).to.equal(405);
    expect(wrong.json).to.deep.include({ message: 'method-not-allowed' });
    expect(wrong.headers.get('allow')).to.equal('GET');
  });

  it('refuses a body over the size limit with 413 payload-too-large', async () => {
    const huge = JSON.stringify({ user_name: 'x', password: 'y'.repeat(t.config.http.bodyLimitBytes) });
    const res = await t.raw('POST', '/v1/auth/register', {
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    expect(res.status).to.equal(413);
    expect(res.json).to.deep.include({ message: 'payload-too-large' });
  });

  it('answers 400 bad-parameters for malformed JSON, a non-JSON body and a missing body', async () => {
    const malformed = await t.raw('POST', '/v1/auth/register', {
      headers: { 'content-type': 'application/json' },
      body: '{"user_name": ',
    });
    expect(malformed.status).to.equal(400);
    expect(malformed.json).to.deep.equal({ message: 'bad-parameters', detail: 'the body is not valid JSON' });

    const text = await t.raw('POST', '/v1/auth/register', {
      headers: { 'content-type': 'text/plain' },
      body: 'user_name=alice',
    });
    expect(text.status).to.equal(400);
    expect(text.json).to.deep.include({ message: 'bad-parameters' });

    const none = await t.raw('POST', '/v1/auth/register');
    expect(none.status).to.equal(400);
    expect(none.json).to.deep.include({ message: 'bad-parameters' });
  });

  describe('when PostgreSQL does not answer', () => {
    let down: TestContext;
    before(async function () {
      // A database nobody listens on: the app starts (no migration) and reports it down.
      const database = await connectDatabase(
        loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', DATABASE_POOL_SIZE: '1' }),
      );
      down = await TestContext.start({ MIGRATE_ON_START: 'false' }, { database });
    });
    after(async () => {
      await down.stop();
      await down.database.close();
    });

    it('GET /ping still answers 200', async () => {
      expect((await down.raw('GET', '/ping')).status).to.equal(200);
    });

    it('/check answers 503 fail naming the database', async () => {
      const { response, error } = await down.api.GET('/check');
      expect(response.status).to.equal(503);
      expect(report(error).checks.database).to.include({ backend: 'postgres', ok: false });
    });

    it('GET /ping_db answers 503 service-unavailable', async () => {
      const { response, error } = await down.api.GET('/ping_db');
      expect(response.status).to.equal(503);
      expect(error).to.deep.include({ message: 'service-unavailable' });
    });

    it('a write answers 503 service-unavailable, not 500', async () => {
      const { response, error } = await down.api.POST('/v1/auth/register', {
        body: { user_name: 'nobody-home', password: 'long enough password' },
      });
      expect(response.status).to.equal(503);
      expect(error).to.deep.include({ message: 'service-unavailable' });
    });
  });
});
