import type { Context } from 'koa';
import { AppError, isAppError, isDependencyUnavailable } from '@messenger/shared';
import { AUTH_CHALLENGE } from '../auth/session-token.ts';

/** PostgreSQL refusing a character (NUL, or one the encoding lacks): the client's text, so a 400. */
function fromDatabaseEncoding(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown })?.code;
  return code === '22021' || code === '22P05'
    ? new AppError('bad-parameters', 'the text holds a character that cannot be stored (such as NUL)')
    : undefined;
}

/**
 * The one place errors become HTTP: an AppError renders as its code; a dependency that does not
 * answer (classified where its driver is wrapped, shared/src/db and store) as 503; anything else as
 * a bare 500 whose message stays in the log.
 */
export function renderError(ctx: Context, err: unknown): void {
  const known =
    (isAppError(err) ? err : undefined) ??
    fromDatabaseEncoding(err) ??
    (isDependencyUnavailable(err)
      ? new AppError('service-unavailable', `the ${err.dependency} does not answer: try again`)
      : undefined);

  if (known) {
    if (known.status >= 500) ctx.state.log.warn({ err }, known.detail);
    ctx.status = known.status;
    ctx.body = { message: known.code, detail: known.detail };
    if (known.status === 401) ctx.set('WWW-Authenticate', AUTH_CHALLENGE);
    if (known.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(known.retryAfterSeconds));
    return;
  }
  ctx.state.log.error({ err }, 'unhandled error');
  ctx.status = 500;
  ctx.body = {
    message: 'internal-error',
    detail: `something went wrong on our side (request ${ctx.state.requestId})`,
  };
}
