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
  'too-many-pins': 409,
  'too-many-reactions': 409,
  'payload-too-large': 413,
  'request-limit-exceeded': 429,
  'internal-error': 500,
  'service-unavailable': 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly status: number;
  /** Sent as `Retry-After`: when a refusal of load (a 503 of a full queue) may succeed again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(`${code}: ${detail}`, options);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The backends a request can depend on. */
export type Dependency = 'database' | 'store' | 'queue';

/**
 * A backend did not answer: refused, reset, timed out, frozen, shutting down, or known to be down.
 * The request may succeed later, so it is a 503, never a 500. Each backend's adapter (the pg pool,
 * the Redis store, the queue) turns its driver's transport failures into this error at the
 * boundary, by what they are (error class, SQLSTATE, errno), so nothing above has to guess.
 */
export class DependencyUnavailableError extends Error {
  /** The cause's own code, kept for callers that tell causes apart (a SQLSTATE such as 57014, an errno). */
  readonly code: string | undefined;

  constructor(
    readonly dependency: Dependency,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DependencyUnavailableError';
    const code = (options?.cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

export function isDependencyUnavailable(err: unknown): err is DependencyUnavailableError {
  return err instanceof DependencyUnavailableError;
}

/** Socket-level failures Node reports by errno: the peer is gone, unreachable or too slow. */
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** True for an error Node raised because a socket failed (refused, reset, unreachable, timed out). */
export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_ERRNOS.has(code);
}
