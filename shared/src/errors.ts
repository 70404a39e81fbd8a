/**
 * The one error type of the domain. Services throw it; one place (the API's error middleware)
 * renders it as `{"message": code, "detail": ...}` with the status that belongs to the code.
 */

export const ERROR_STATUS = {
  'bad-parameters': 400,
  'auth-failed': 401,
  'invalid-session-id': 401,
  'session-id-expired': 401,
  forbidden: 403,
  'not-found': 404,
  'chat-not-found': 404,
  'user-not-found': 404,
  'task-not-found': 404,
  'message-not-found': 404,
  'method-not-allowed': 405,
  'user-already-exists': 409,
  'task-not-complete': 409,
  'task-failed': 409,
  'idempotency-key-reused': 409,
  'idempotency-key-in-progress': 409,
  'payload-too-large': 413,
  'request-limit-exceeded': 429,
  'internal-error': 500,
  'service-unavailable': 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
