import type { Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { AppError } from '@messenger/shared';

export interface JsonBodyOptions {
  /** BODY_LIMIT_BYTES: the largest body, after decompression. */
  limitBytes: number;
  /** JSON_MAX_DEPTH: the deepest nesting of arrays and objects. */
  maxDepth: number;
}

declare module 'koa' {
  interface DefaultState {
    /** Reads the request's JSON body into `ctx.request.body` (once; later calls do nothing). */
    readBody?: () => Promise<void>;
  }
}

/**
 * Gives each request a `ctx.state.readBody` that reads its JSON body (POST, PUT, PATCH, DELETE; other
 * types of body are left unread) and refuses one the client got wrong with the documented 4xx:
 * over the limit (413), not JSON, in an unknown `Content-Encoding` or not compressed as it claims,
 * or nested deeper than the limit (400). The router calls it once the request has reached an
 * operation, so an unknown route is 404/405 whatever its body; anything that walks the body
 * recursively (validation, the idempotency fingerprint) runs after it, so a deep body never
 * reaches them.
 */
export function jsonBody(options: JsonBodyOptions): Middleware {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: options.limitBytes,
    encoding: 'utf-8',
    // DELETE too: `DELETE /v1/users/me` takes the password in its body (RFC 9110 allows it).
    parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  });
  return async (ctx, next) => {
    let reading: Promise<void> | undefined;
    ctx.state.readBody = () => {
      reading ??= (async () => {
        try {
          // The parser's own `next` is a no-op, so what it throws is about the body and nothing else.
          await parse(ctx, async () => {});
        } catch (err) {
          throw bodyError(err, ctx.get('content-encoding') || 'identity', options.limitBytes);
        }
        if (nestedDeeperThan((ctx.request as { body?: unknown }).body, options.maxDepth)) {
          throw new AppError('bad-parameters', `the body is nested deeper than ${options.maxDepth} levels`);
        }
      })();
      return reading;
    };
    await next();
  };
}

/**
 * What reading a body threw, as the documented error. raw-body and co-body give theirs a 4xx
 * `status`; inflation throws a 415 for an encoding it does not know; zlib's errors (a body that is
 * not compressed as its `Content-Encoding` says) carry an `errno` and no `type`. All are the
 * client's doing; anything else is ours and stays a 500.
 */
function bodyError(err: unknown, encoding: string, limitBytes: number): unknown {
  const e = err as { status?: unknown; type?: unknown; errno?: unknown };
  if (e?.type === 'entity.too.large') {
    return new AppError('payload-too-large', `the body is over ${limitBytes} bytes`, { cause: err });
  }
  if (e?.status === 415) {
    return new AppError(
      'bad-parameters',
      `Content-Encoding "${encoding}" is not supported: send identity, gzip, deflate or br`,
      { cause: err },
    );
  }
  if (encoding !== 'identity' && e?.type === undefined && typeof e?.errno === 'number') {
    const detail = `the body is not compressed as Content-Encoding "${encoding}" says`;
    return new AppError('bad-parameters', detail, { cause: err });
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    // co-body's parse errors are SyntaxErrors (a `__proto__` key among them); raw-body's are typed.
    const detail =
      err instanceof SyntaxError
        ? 'the body is not valid JSON'
        : e.type === 'request.aborted' || e.type === 'request.size.invalid'
          ? 'the body does not match its Content-Length'
          : 'the body could not be read';
    return new AppError('bad-parameters', detail, { cause: err });
  }
  return err;
}

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `max` (`{}` is depth 1). Walks
 * with a stack of its own, not recursion, so any depth the parser accepted is safe to measure.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth > max) return true;
    for (const child of Object.values(item.value)) {
      if (typeof child === 'object' && child !== null) pending.push({ value: child, depth: item.depth + 1 });
    }
  }
  return false;
}
