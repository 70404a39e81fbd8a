import type { Context } from 'koa';
import ratelimit from 'koa-ratelimit';
import { AppError, type Config, type Logger, type RateLimit, type Store } from '@messenger/shared';
import type { Caller } from '../auth/caller.ts';
import { clientIp, compileTrust, type ProxyTrust } from './client-ip.ts';

/** An operation's `x-rate-limit` in openapi.yaml. */
export type RateLimitClass = 'api' | 'auth' | 'none';

type Limiter = (ctx: Context, key: string) => Promise<boolean>;

/** How often "the limiter's store is down" is logged while it stays down. */
const FAIL_OPEN_LOG_INTERVAL_MS = 30_000;

/**
 * Throttling with koa-ratelimit, its counters in the store (Redis), so every API instance shares
 * them. `api` operations are limited per user (per client IP without a session); `auth` ones (login,
 * register) per client IP and per `user_name`. If the store does not answer, requests go through
 * (fail open) and a warning is logged now and then, rather than the API going down with it.
 */
export class Throttle {
  private readonly api: Limiter;
  private readonly authPerIp: Limiter;
  private readonly authPerName: Limiter;
  private lastFailureLog = 0;
  private readonly trust: ProxyTrust;

  constructor(
    private readonly settings: Config['throttling'],
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    const make = (namespace: string, limit: RateLimit): Limiter => {
      const middleware = ratelimit({
        ...store.rateLimitDriver(),
        // The limit is part of the key: counters kept under another limit (a config change) never carry over.
        namespace: `ratelimit:${namespace}:${limit.max}/${limit.windowMs}`,
        duration: limit.windowMs,
        max: limit.max,
        id: (ctx) => ctx.state.rateLimitKey as string,
        headers: { remaining: 'RateLimit-Remaining', reset: 'RateLimit-Reset', total: 'RateLimit-Limit' },
      } as Parameters<typeof ratelimit>[0]);
      return async (ctx, key) => {
        ctx.state.rateLimitKey = key;
        let allowed = false;
        await middleware(ctx, async () => {
          allowed = true;
        });
        return allowed;
      };
    };
    this.trust = compileTrust(settings.trustedProxies);
    this.api = make('api', settings.api);
    this.authPerIp = make('auth-ip', settings.authPerIp);
    this.authPerName = make('auth-name', settings.authPerName);
  }

  /** Throws 429 `request-limit-exceeded` when the caller is over the operation's limit. */
  async check(
    ctx: Context,
    limitClass: RateLimitClass,
    caller: Caller | undefined,
    body: unknown,
  ): Promise<void> {
    if (limitClass === 'none') return;
    // A store known to be down would only add its timeout to the request.
    if (this.store.breaker.open) return this.failOpen(new Error('the store is down'));
    const ip = clientIp(ctx, this.trust);
    const checks: Array<[Limiter, string]> = [];
    if (limitClass === 'auth') {
      checks.push([this.authPerIp, ip]);
      const userName = (body as { user_name?: unknown } | undefined)?.user_name;
      if (typeof userName === 'string') checks.push([this.authPerName, userName]);
    } else {
      checks.push([this.api, caller?.kind === 'session' ? `user:${caller.userId}` : `ip:${ip}`]);
    }
    for (const [limiter, key] of checks) {
      let allowed: boolean;
      try {
        allowed = await limiter(ctx, key);
      } catch (err) {
        // koa-ratelimit talks to Redis past the store's own breaker: trip it for the next ones.
        this.store.breaker.trip();
        this.failOpen(err);
        return;
      }
      this.secondsUntilReset(ctx);
      if (!allowed) {
        const retryAfter = Math.max(1, Number(ctx.response.get('RateLimit-Reset')) || 1);
        ctx.set('Retry-After', String(retryAfter));
        throw new AppError('request-limit-exceeded', `too many requests; retry in ${retryAfter} s`);
      }
    }
  }

  /** koa-ratelimit sends the reset as an epoch time; the RateLimit header fields count seconds from now. */
  private secondsUntilReset(ctx: Context): void {
    const epochSeconds = Number(ctx.response.get('RateLimit-Reset'));
    if (Number.isFinite(epochSeconds) && epochSeconds > 0) {
      ctx.set('RateLimit-Reset', String(Math.max(0, Math.ceil(epochSeconds - Date.now() / 1000))));
    }
  }

  private failOpen(err: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog >= FAIL_OPEN_LOG_INTERVAL_MS) {
      this.lastFailureLog = now;
      this.log.warn({ err }, 'rate limiter store unavailable: letting requests through');
    }
  }
}
