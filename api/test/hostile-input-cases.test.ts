import { createServer } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { createLogger } from '@messenger/shared';
import { explainRefusals } from '../src/http/server-refusals.ts';
import { expectError } from './support/expect-error.ts';
import { ANSWER_WITHIN_MS, parseResponse, sendRaw } from './support/raw-http.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

// The generated run these came from: hostile-input.test.ts.
describe('hostile input, case by case (what the fuzzer found)', () => {
  let t: TestContext;
  let alice: TestUser;
  let chatId: string;
  const json = { 'content-type': 'application/json' };
  const auth = () => ({ Authorization: `session_id ${alice.token}` });
  /** A raw request's answer, its body parsed. */
  const raw = async (request: string) => {
    const response = await sendRaw(
      Number(new URL(t.baseUrl).port),
      Buffer.from(request, 'latin1'),
      ANSWER_WITHIN_MS,
    );
    return { ...response, json: JSON.parse(response.body.toString('utf8')) as unknown };
  };

  before(async () => {
    t = await TestContext.start();
    alice = await t.registerUser('hostile');
    chatId = await t.createChat(alice);
  });
  after(() => t.stop());

  it('answers a path segment that is not UTF-8 with the 404 of an unknown id, never a URIError', async () => {
    expectError(await t.raw('GET', '/v1/users/%C0', { headers: auth() }), 404, 'user-not-found');
    expectError(
      await t.raw('GET', '/v1/chats/%FF/messages?limit=1', { headers: auth() }),
      404,
      'chat-not-found',
    );
    expectError(
      await t.raw('PATCH', `/v1/chats/${chatId}/messages/%ED%A0%80`, {
        headers: { ...json, ...auth() },
        body: '{"message":"x"}',
      }),
      404,
      'message-not-found',
    );
    expectError(
      await t.raw('DELETE', `/v1/chats/${chatId}/messages/%`, { headers: auth() }),
      404,
      'message-not-found',
    );
    expectError(await t.raw('GET', '/docs/%C0%AF'), 404, 'not-found');
  });

  it('looks docs assets up as its own, so __proto__, constructor and toString are 404', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expectError(await t.raw('GET', `/docs/${name}`), 404, 'not-found', new RegExp(name));
    }
    expect((await t.raw('GET', '/docs/swagger-ui.css')).status).to.equal(200);
  });

  it('answers a Content-Encoding that lies or is unknown with 400, and takes one that is true', async () => {
    const body = JSON.stringify({ user_name: 'nobody-here', password: 'not the password' });
    for (const encoding of ['gzip', 'br', 'deflate']) {
      expectError(
        await t.raw('POST', '/v1/auth/login', { headers: { ...json, 'content-encoding': encoding }, body }),
        400,
        'bad-parameters',
        new RegExp(`not compressed as Content-Encoding "${encoding}"`),
      );
    }
    expectError(
      await t.raw('POST', '/v1/auth/login', { headers: { ...json, 'content-encoding': 'zstd' }, body }),
      400,
      'bad-parameters',
      /Content-Encoding "zstd" is not supported/,
    );
    const real = await fetch(`${t.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { ...json, 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    expectError({ status: real.status, json: await real.json() }, 401, 'auth-failed');
  });

  it('refuses a gzip bomb once it inflates past the body limit', async () => {
    const bomb = gzipSync(Buffer.from(`{"message":"${'0'.repeat(5_000_000)}"}`));
    const answer = await fetch(`${t.baseUrl}/v1/chats/${chatId}/messages`, {
      method: 'POST',
      headers: { ...json, ...auth(), 'content-encoding': 'gzip' },
      body: bomb,
    });
    expectError({ status: answer.status, json: await answer.json() }, 413, 'payload-too-large');
  });

  it('answers a body nested deeper than JSON_MAX_DEPTH with 400 before the idempotency fingerprint walks it', async () => {
    const deep = '{"message":"x","extra":' + '['.repeat(3000) + ']'.repeat(3000) + '}';
    const answer = await t.raw('POST', `/v1/chats/${chatId}/messages`, {
      headers: { ...json, ...auth(), 'Idempotency-Key': 'deep-body-1' },
      body: deep,
    });
    expectError(answer, 400, 'bad-parameters', /nested deeper than 32 levels/);
    expect(await t.messageCount(chatId)).to.equal(0);
    // The limit is configuration; at the limit a body is taken.
    const shallow = await TestContext.start({ JSON_MAX_DEPTH: '8' });
    try {
      const nested = (depth: number) => '['.repeat(depth - 1) + ']'.repeat(depth - 1);
      const at = await shallow.raw('POST', `/v1/chats/${chatId}/messages`, {
        headers: { ...json, ...auth() },
        body: `{"message":"at the limit","extra":${nested(8)}}`,
      });
      expect(at.status).to.equal(201);
      const over = await shallow.raw('POST', `/v1/chats/${chatId}/messages`, {
        headers: { ...json, ...auth() },
        body: `{"message":"over it","extra":${nested(9)}}`,
      });
      expectError(over, 400, 'bad-parameters', /deeper than 8/);
    } finally {
      await shallow.stop();
    }
  });

  it('answers a repeated query parameter the operation takes with a 400 that names it', async () => {
    expectError(
      await t.raw('GET', `/v1/chats/${chatId}/messages?limit=1&limit=2`, { headers: auth() }),
      400,
      'bad-parameters',
      /query parameter "limit" is given more than once/,
    );
  });

  it('ignores query parameters the operation does not take (analytics, cache busters, old clients), repeated or not', async () => {
    expect((await t.raw('GET', '/ping?x=1&x=2')).status).to.equal(200);
    expect((await t.raw('GET', '/ping?verbose=1&utm_source=mail')).status).to.equal(200);
    const page = await t.raw('GET', `/v1/chats/${chatId}/messages?limit=1&_=1712345678&chat_id=${chatId}`, {
      headers: auth(),
    });
    expect(page.status).to.equal(200);
    // What it does take is still validated strictly.
    expectError(
      await t.raw('GET', `/v1/chats/${chatId}/messages?limit=0&utm_source=x`, { headers: auth() }),
      400,
      'bad-parameters',
      /limit/,
    );
  });

  it('answers invalid JSON and oversized bodies on operations that take no body with their declared 400 and 413', async () => {
    for (const path of ['/v1/auth/logout', '/v1/auth/logout-all', '/check']) {
      expectError(
        await t.raw('POST', path, { headers: { ...json, ...auth() }, body: '{bad' }),
        400,
        'bad-parameters',
      );
      const huge = JSON.stringify({ a: 'x'.repeat(70_000) });
      expectError(
        await t.raw('POST', path, { headers: { ...json, ...auth() }, body: huge }),
        413,
        'payload-too-large',
      );
    }
  });

  it('answers an unknown route or method by its path, whatever the body', async () => {
    const bomb = JSON.stringify({ a: 'x'.repeat(70_000) });
    expectError(
      await t.raw('PUT', `/v1/chats/${chatId}`, { headers: json, body: bomb }),
      405,
      'method-not-allowed',
    );
    expectError(await t.raw('POST', '/v1/nothing-here', { headers: json, body: '{bad' }), 404, 'not-found');
  });

  it("answers the HTTP server's own refusals with the error body and a request id", async () => {
    const big = await raw(
      `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expectError(big, 431, 'bad-parameters', /headers are over \d+ bytes/);
    expect(big.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);

    const expect417 = await raw(
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    );
    expectError(expect417, 417, 'bad-parameters', /only "100-continue"/);
    expect(expect417.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);

    const garbled = await raw('GET /ping HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\nConnection: close\r\n\r\n');
    expectError(garbled, 400, 'bad-parameters', /not valid HTTP/);

    // Expect: 100-continue is met as before.
    const continued = await raw(
      'POST /v1/auth/logout HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expectError(continued, 401, 'auth-failed');
  });

  it('answers adding a member to a chat being deleted with 404, never a foreign key 500', async () => {
    // Found by a 10,000-request run (seed 1704856990): addChatUser racing deleteChat.
    const bob = await t.registerUser('bob');
    const statuses = new Set<number>();
    for (let round = 0; round < 10; round++) {
      const chat = await t.createChat(alice);
      const add = () =>
        t.raw('POST', `/v1/chats/${chat}/users`, {
          headers: { ...json, ...auth() },
          body: JSON.stringify({ user_name: bob.userName }),
        });
      const answers = await Promise.all([
        t.raw('DELETE', `/v1/chats/${chat}`, { headers: auth() }),
        add(),
        add(),
      ]);
      for (const answer of answers.slice(1)) statuses.add(answer.status);
      expect(answers[0].status).to.equal(204);
      expect(await t.membersOf(chat)).to.deep.equal([]);
    }
    expect([...statuses].filter((status) => ![201, 404].includes(status))).to.deep.equal([]);
  });

  it('answers a request that does not arrive in time with 408 and the error body', async () => {
    // A server of its own with a short request timeout: the app's is 30 s.
    // It answers once the body has come, as the app does.
    const server = createServer({ requestTimeout: 300, connectionsCheckingInterval: 50 }, (req, res) =>
      req.resume().on('end', () => res.end()),
    );
    explainRefusals(server, createLogger('silent'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const bytes = await new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('close', () => resolve(Buffer.concat(chunks)));
        socket.write('POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"user');
      });
      const response = parseResponse(bytes)!;
      const answer = { status: response.status, json: JSON.parse(response.body.toString()) as unknown };
      expectError(answer, 408, 'bad-parameters', /did not arrive in time/);
      expect(response.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    } finally {
      server.close();
    }
  });
});
