import { expect } from 'chai';
import { AppError, ERROR_STATUS, isAppError, type ErrorCode } from '../src/errors.ts';

describe('AppError', () => {
  // What each code renders, and that it is the status openapi.yaml documents: api/test/errors.test.ts.
  it('gives every code an HTTP error status, and an AppError the status of its code', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS) as Array<[ErrorCode, number]>) {
      expect(status).to.be.within(400, 599);
      expect(new AppError(code, 'detail').status).to.equal(status);
    }
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
