import { createHash, randomBytes } from 'node:crypto';

/** 256 bits from the CSPRNG, URL-safe. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database and the store key by: the token itself is never stored. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The store key of a session. */
export function sessionStoreKey(tokenHash: string): string {
  return `session:${tokenHash}`;
}

/**
 * Reads `Authorization: session_id <token>`, or `Bearer <token>` (what generated clients and tools
 * send; the same token); undefined when the header is absent.
 */
export function parseAuthorization(
  header: string | undefined,
): { token: string } | { malformed: true } | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^(?:session_id|bearer)\s+([A-Za-z0-9_\-.~+/=]{1,512})\s*$/i.exec(header.trim());
  return match ? { token: match[1] as string } : { malformed: true };
}

/** The challenge every 401 carries (RFC 9110 §11.6.1): both schemes the API accepts. */
export const AUTH_CHALLENGE = 'session_id realm="messenger", Bearer realm="messenger"';
