import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '@messenger/shared';
import { renderError } from './errors.ts';

const requestLine = (ctx: { method: string; path: string; status: number }, ms: number) => ({
  method: ctx.method,
  path: ctx.path,
  status: ctx.status,
  ms: Math.round(ms * 10) / 10,
});

/** A client's own request id is kept when it is sane; otherwise one is made. */
const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
  }
}

/**
 * The outermost middleware: gives each request an id (echoed in `X-Request-Id`), a child logger,
 * one log line when it ends, and turns anything thrown below into the documented error body.
 */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    // The request's child logger is made when something logs through it: pino builds a child's
    // bindings (serialised, redaction applied) at once, a cost most requests never need.
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (log ??= logger.child({ reqId: requestId })),
      set: (value: Logger) => (log = value),
      configurable: true,
      enumerable: true,
    });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } catch (err) {
      renderError(ctx, err);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ctx.status >= 500) ctx.state.log.error(requestLine(ctx, ms), 'request failed');
    else if (log) log.info(requestLine(ctx, ms), 'request');
    // Without a child, the line carries the request id itself, and is not even built below info.
    else if (logger.isLevelEnabled('info'))
      logger.info({ reqId: requestId, ...requestLine(ctx, ms) }, 'request');
  };
}
