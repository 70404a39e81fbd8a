import { expect } from 'chai';
import type { components } from '../../src/generated/openapi.ts';

export type ErrorCode = components['schemas']['Error']['message'];

/** What a call answered: a typed client's result or a raw one. */
export type Answer = { response: Response; error?: unknown } | { status: number; json: unknown };

/** Asserts the documented error body: the status, the code, and a detail (matching `detail` if given). */
export function expectError(answer: Answer, status: number, code: ErrorCode, detail: RegExp = /./): void {
  const [actual, body] =
    'response' in answer ? [answer.response.status, answer.error] : [answer.status, answer.json];
  expect(actual, JSON.stringify(body)).to.equal(status);
  expect(body).to.have.property('message', code);
  expect(body).to.have.property('detail').that.is.a('string').and.matches(detail);
}
