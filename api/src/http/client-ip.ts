import type { Context } from 'koa';
import proxyaddr from 'proxy-addr';

/** Which peers' `X-Forwarded-For` is believed: compiled once from TRUSTED_PROXIES. */
export type ProxyTrust = ReturnType<typeof proxyaddr.compile>;

/** TRUSTED_PROXIES as proxy-addr reads it: addresses, CIDR ranges, and names such as `loopback`. */
export function compileTrust(trustedProxies: readonly string[]): ProxyTrust {
  return proxyaddr.compile([...trustedProxies]);
}

/**
 * The client's address. `X-Forwarded-For` is believed only when the connection comes from a
 * trusted proxy, and then the right-most address that is not a trusted proxy wins (entries further
 * left are whatever the client chose to send).
 */
export function clientIp(ctx: Context, trust: ProxyTrust): string {
  return proxyaddr(ctx.req, trust).replace(/^::ffff:/, '');
}
