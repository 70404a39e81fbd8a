import cors from '@koa/cors';
import type { Middleware } from 'koa';

/** Request headers a browser app sends (and must be allowed to in a preflight). */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-None-Match',
  'Last-Event-ID',
  'X-Request-Id',
];

/** Response headers a browser app reads, which CORS hides unless they are exposed. */
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Retry-After',
  'ETag',
  'Idempotent-Replayed',
  'WWW-Authenticate',
  'Allow',
];

/**
 * Cross-origin access for browser apps served from other origins (CORS_ORIGINS): preflights
 * answered 204 with what may be sent, and the headers clients read exposed. An origin that is not
 * listed gets no CORS headers, so the browser keeps the response from it. No cookies are used
 * (the session travels in Authorization), so credentials are never allowed. `*` allows any origin.
 */
export function corsFor(origins: readonly string[]): Middleware | undefined {
  if (origins.length === 0) return undefined;
  const anyOrigin = origins.includes('*');
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      if (anyOrigin) return '*';
      return origins.includes(origin) ? origin : '';
    },
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    // An error response must still be readable by the app (its `detail` is what it shows).
    keepHeadersOnError: true,
  });
}
