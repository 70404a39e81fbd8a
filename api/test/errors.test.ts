import { expect } from 'chai';
import type { Context } from 'koa';
import { AppError, DependencyUnavailableError, ERROR_STATUS, type ErrorCode } from '@messenger/shared';
import { renderError } from '../src/http/errors.ts';
import { readSpec } from '../src/http/contract.ts';

interface Rendered {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  logged: Array<{ level: string; line: unknown }>;
}

/** renderError on a context that records what it sets: the one place errors become HTTP. */
function render(err: unknown): Rendered {
  const rendered: Rendered = { status: 0, body: undefined, headers: {}, logged: [] };
  const log = (level: string) => (line: unknown) => rendered.logged.push({ level, line });
  const ctx = {
    state: { requestId: 'req-1', log: { warn: log('warn'), error: log('error') } },
    set: (name: string, value: string) => {
      rendered.headers[name.toLowerCase()] = value;
    },
    set status(s: number) {
      rendered.status = s;
    },
    set body(b: unknown) {
      rendered.body = b;
    },
  } as unknown as Context;
  renderError(ctx, err);
  return rendered;
}

/**
 * For each error code, the statuses openapi.yaml documents it under: the codes a response names in
 * backticks in its description, and the code of its example.
 */
function documentedStatuses(): Map<string, Set<number>> {
  type Response = {
    $ref?: string;
    description?: string;
    content?: Record<string, { example?: { message?: string } }>;
  };
  const doc = readSpec().document as unknown as {
    paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
    components: { responses: Record<string, Response> };
  };
  const byCode = new Map<string, Set<number>>();
  const note = (code: string, status: number) => {
    if (!(code in ERROR_STATUS)) return;
    if (!byCode.has(code)) byCode.set(code, new Set());
    byCode.get(code)!.add(status);
  };
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      for (const [status, given] of Object.entries(op?.responses ?? {})) {
        if (Number(status) < 400) continue;
        const response = given.$ref ? doc.components.responses[given.$ref.split('/').pop()!]! : given;
        for (const [, code] of (response.description ?? '').matchAll(/`([a-z-]+)`/g))
          note(code!, Number(status));
        const example = response.content?.['application/json']?.example?.message;
        if (example) note(example, Number(status));
      }
    }
  }
  return byCode;
}

/** Statuses the HTTP server answers itself, before any operation runs (http/server-refusals.ts). */
const SERVER_REFUSALS = [408, 417, 431];

describe('error rendering', () => {
  const documented = documentedStatuses();

  for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
    it(`renders ${code} as the contract documents it`, () => {
      const rendered = render(new AppError(code, 'what went wrong'));
      expect(rendered.body).to.deep.equal({ message: code, detail: 'what went wrong' });
      if (code === 'method-not-allowed') {
        // No operation to document it under: a method the path lacks (system.test.ts sends one).
        expect(rendered.status).to.equal(405);
      } else {
        const statuses = documented.get(code);
        expect(statuses, `openapi.yaml documents ${code} nowhere`).to.not.equal(undefined);
        expect([...statuses!], `the statuses openapi.yaml documents for ${code}`).to.include(rendered.status);
        const others = [...statuses!].filter((s) => s !== rendered.status && !SERVER_REFUSALS.includes(s));
        expect(others, `${code} documented under another status too`).to.deep.equal([]);
      }
      expect(rendered.status).to.be.within(400, 599);
      expect('www-authenticate' in rendered.headers).to.equal(rendered.status === 401);
      // Client mistakes are not the server's problem: only 5xx reach the log, as warnings.
      expect(rendered.logged.map((l) => l.level)).to.deep.equal(rendered.status >= 500 ? ['warn'] : []);
    });
  }

  it('renders a dependency that does not answer as 503 naming it, whatever the driver said', () => {
    const err = new DependencyUnavailableError('database', 'connection terminated', {
      cause: new Error('ECONNRESET 10.0.0.5:5432'),
    });
    const rendered = render(err);
    expect(rendered.status).to.equal(503);
    expect(rendered.body).to.deep.equal({
      message: 'service-unavailable',
      detail: 'the database does not answer: try again',
    });
  });

  it('renders a character PostgreSQL cannot store as 400, not 500', () => {
    for (const code of ['22021', '22P05']) {
      const rendered = render(Object.assign(new Error('invalid byte sequence'), { code }));
      expect(rendered.status).to.equal(400);
      expect(rendered.body).to.have.property('message', 'bad-parameters');
    }
  });

  it('masks anything else as a bare 500 that names the request, and logs the error', () => {
    const secret = new Error('password authentication failed for user "app" at 10.0.0.5');
    const rendered = render(secret);
    expect(rendered.status).to.equal(500);
    expect(rendered.body).to.deep.equal({
      message: 'internal-error',
      detail: 'something went wrong on our side (request req-1)',
    });
    expect(rendered.logged).to.have.length(1);
    expect(rendered.logged[0]).to.deep.include({ level: 'error' });
    expect(rendered.logged[0]!.line).to.deep.include({ err: secret });
  });
});
