import { expect } from 'chai';
import type { Context } from 'koa';
import { clientIp, compileTrust } from '../src/http/client-ip.ts';

/** The parts of a Koa context clientIp reads: the peer's address and X-Forwarded-For. */
function contextFrom(remoteAddress: string, forwardedFor?: string): Context {
  const req = {
    socket: { remoteAddress },
    connection: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  };
  return { req } as unknown as Context;
}

describe('clientIp (TRUSTED_PROXIES)', () => {
  it('ignores X-Forwarded-For from a peer that is not trusted', () => {
    const trust = compileTrust(['10.0.0.1']);
    expect(clientIp(contextFrom('203.0.113.9', '198.51.100.1'), trust)).to.equal('203.0.113.9');
  });

  it('takes the right-most untrusted hop behind trusted CIDR ranges', () => {
    const trust = compileTrust(['10.0.0.0/8', '172.16.0.0/12']);
    const ctx = contextFrom('10.1.2.3', 'spoofed-by-client, 198.51.100.7, 172.20.0.4');
    expect(clientIp(ctx, trust)).to.equal('198.51.100.7');
  });

  it('understands the names loopback and uniquelocal, and IPv4-mapped IPv6 peers', () => {
    const trust = compileTrust(['loopback', 'uniquelocal']);
    expect(clientIp(contextFrom('::ffff:127.0.0.1', '198.51.100.8'), trust)).to.equal('198.51.100.8');
    expect(clientIp(contextFrom('fd00::5', '2001:db8::1'), trust)).to.equal('2001:db8::1');
  });

  it('answers the peer itself when nothing is trusted', () => {
    expect(clientIp(contextFrom('::ffff:192.0.2.4', '198.51.100.1'), compileTrust([]))).to.equal('192.0.2.4');
  });
});
