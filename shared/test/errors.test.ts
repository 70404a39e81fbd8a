import { expect } from 'chai';
import { AppError, ERROR_STATUS, isAppError, type ErrorCode } from '../src/errors.ts';

describe('AppError', () => {
  const statuses: Array<[ErrorCode, number]> = [
    ['bad-parameters', 400],
    ['auth-failed', 401],
    ['invalid-session-id', 401],
    ['session-id-expired', 401],
    ['forbidden', 403],
    ['not-found', 404],
    ['chat-not-found', 404],
    ['user-not-found', 404],
    ['task-not-found', 404],
    ['task-not-complete', 409],
    ['task-failed', 409],
    ['message-not-found', 404],
    ['idempotency-key-reused', 409],
    ['idempotency-key-in-progress', 409],
    ['method-not-allowed', 405],
    ['user-already-exists', 409],
    ['payload-too-large', 413],
    ['request-limit-exceeded', 429],
    ['internal-error', 500],
    ['service-unavailable', 503],
  ];

  for (const [code, status] of statuses) {
    it(`takes status ${status} from the code ${code}`, () => {
      expect(new AppError(code, 'detail').status).to.equal(status);
    });
  }

  it('has a status for every code, and every status is an HTTP error status', () => {
    expect(Object.keys(ERROR_STATUS)).to.have.members(statuses.map(([code]) => code));
    for (const status of Object.values(ERROR_STATUS)) expect(status).to.be.within(400, 599);
  });

  it('keeps the code, the detail and the cause', () => {
    const cause = new Error('unique violation');
    const err = new AppError('user-already-exists', 'user_name alice is taken', { cause });
    expect(err).to.be.instanceOf(Error);
    expect(err.name).to.equal('AppError');
    expect(err.code).to.equal('user-already-exists');
    expect(err.detail).to.equal('user_name alice is taken');
    expect(err.message).to.equal('user-already-exists: user_name alice is taken');
    expect(err.cause).to.equal(cause);
    expect(err.stack).to.be.a('string').and.include('AppError');
  });

  it('isAppError tells an AppError from other errors and look-alikes', () => {
    expect(isAppError(new AppError('forbidden', 'not a member'))).to.equal(true);
    expect(isAppError(new Error('forbidden'))).to.equal(false);
    expect(isAppError({ code: 'forbidden', status: 403, detail: 'x', name: 'AppError' })).to.equal(false);
    expect(isAppError(undefined)).to.equal(false);
    expect(isAppError('forbidden')).to.equal(false);
  });
});
