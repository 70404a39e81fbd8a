import type { Context } from 'koa';

const normalize = (ip: string) => ip.trim().replace(/^::ffff:/, '');

/**
 * The client's address. `X-Forwarded-For` is believed only when the connection comes from a
 * configured trusted proxy, and then the right-most address that is not a trusted proxy wins
 * (entries further left are whatever the client chose to send).
 */
export function clientIp(ctx: Context, trustedProxies: readonly string[]): string {
  const remote = normalize(ctx.socket.remoteAddress ?? 'unknown');
  if (!trustedProxies.includes(remote)) return remote;
  const forwarded = (ctx.get('x-forwarded-for') || '').split(',').map(normalize).filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = forwarded[i] as string;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return remote;
}
