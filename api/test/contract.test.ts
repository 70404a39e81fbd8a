import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '@messenger/shared';
import { createContractRouter, readSpec } from '../src/http/contract.ts';
import type { HandlerMap } from '../src/http/handler-types.ts';
import { Actor } from '../src/auth/actor.ts';
import { ContractValidator } from './support/contract-validator.ts';
import { TestContext } from './support/test-context.ts';

const noop = (() => ({ status: 200, body: undefined })) as never;

/** The message a promise rejects with ('' when it resolves). */
const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => '',
    (err: Error) => err.message,
  );

/** A handler for every operation of the contract. */
function fullHandlerMap(): Record<string, unknown> {
  const ids = [...readSpec().text.matchAll(/operationId: (\w+)/g)].map((m) => m[1] as string);
  return Object.fromEntries(ids.map((id) => [id, noop]));
}

describe('binding to the contract', () => {
  it('refuses to start when an operation of openapi.yaml has no handler', async () => {
    const handlers = fullHandlerMap();
    delete handlers.listMessages;
    const attempt = createContractRouter({
      document: readSpec().document,
      handlers: handlers as unknown as HandlerMap,
      authenticate: async () => ({ kind: 'anonymous' }),
      resolveActor: async () => Actor.trusted(undefined),
    });
    expect(await failureOf(attempt)).to.match(/operations without a handler: listMessages/);
  });

  it('refuses a handler for an operation the contract does not have', async () => {
    const handlers = { ...fullHandlerMap(), deleteEverything: noop };
    const attempt = createContractRouter({
      document: readSpec().document,
      handlers: handlers as unknown as HandlerMap,
      authenticate: async () => ({ kind: 'anonymous' }),
      resolveActor: async () => Actor.trusted(undefined),
    });
    expect(await failureOf(attempt)).to.match(/Unknown operationId deleteEverything/);
  });

  it('the test client catches a response that breaks the contract', async () => {
    const validator = await ContractValidator.create();
    const headers = new Headers({ 'content-type': 'application/json', 'x-request-id': 'r1' });
    const url = new URL('http://x/v1/chats/abc/messages?limit=5');
    expect(
      validator.problems('GET', url, 200, headers, { messages: [{ text: 'no ids' }] }),
    ).to.have.length.greaterThan(0);
    expect(validator.problems('GET', url, 418, headers, {})).to.match(/does not document/);
    expect(validator.problems('GET', url, 200, new Headers(), { messages: [] })).to.deep.equal([
      'no X-Request-Id header',
    ]);
    expect(validator.problems('GET', url, 200, headers, { messages: [] })).to.deep.equal([]);
  });
});

describe('the statuses every operation declares', () => {
  const document = readSpec().document as unknown as {
    security: unknown[];
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  /** Operations that need no database, store or queue: they cannot meet one that is down. */
  const NEEDS_NOTHING = new Set([
    'ping',
    'getOpenApiSpec',
    'getDocs',
    'getDocsAsset',
    'getWebClient',
    'getWebClientAsset',
  ]);
  const operations = Object.values(document.paths).flatMap((item) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method, op })),
  );

  it('declares what any request can meet, and what its body, session, limit and dependencies add', () => {
    const missing: string[] = [];
    for (const { method, op } of operations) {
      const declared = Object.keys(op.responses as object);
      const needed = ['400', '408', '417', '431', '500'];
      if (['post', 'put', 'patch'].includes(method)) needed.push('413');
      if (((op.security as unknown[] | undefined) ?? document.security).length > 0) needed.push('401');
      if (op['x-rate-limit'] !== 'none') needed.push('429');
      if (!NEEDS_NOTHING.has(op.operationId as string)) needed.push('503');
      const absent = needed.filter((status) => !declared.includes(status));
      if (absent.length > 0) missing.push(`${op.operationId as string}: ${absent.join(', ')}`);
    }
    expect(operations.length).to.be.greaterThan(30);
    expect(missing).to.deep.equal([]);
  });

  it('declares 404 on every operation with an id in its path', () => {
    const missing = operations
      .filter(({ op }) =>
        (op.parameters as Array<{ $ref?: string; in?: string }> | undefined)?.some(
          (p) => p.in === 'path' || /(ChatId|MessageId|TaskId|PeerUserName)$/.test(p.$ref ?? ''),
        ),
      )
      .filter(({ op }) => !(op.responses as Record<string, unknown>)['404'])
      .map(({ op }) => op.operationId);
    expect(missing).to.deep.equal([]);
  });
});

describe('request logging', () => {
  it('writes one line per request with its id, and never the Authorization header', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const t = await TestContext.start({}, { logger: createLogger('info', sink) });
    try {
      const user = await t.registerUser('logged');
      const res = await t.raw('GET', '/v1/chats?limit=1', {
        headers: { Authorization: `session_id ${user.token}` },
      });
      const requestId = res.headers.get('x-request-id');
      const line = lines.find((l) => l.reqId === requestId);
      expect(line).to.include({ method: 'GET', path: '/v1/chats', status: 200, msg: 'request' });
      expect(JSON.stringify(lines)).to.not.contain(user.token).and.not.contain(user.password);
    } finally {
      await t.stop();
    }
  });
});
