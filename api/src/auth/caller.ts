/** Who is making a request. */
export type Caller =
  /** A logged-in user, through `Authorization: session_id <token>`. */
  | { kind: 'session'; userId: string; sessionId: string; tokenHash: string }
  /** AUTH_DISABLED=true: the client is trusted to say who it is with `?user_id=`. */
  | { kind: 'trusted' }
  /** An operation that needs no caller (ping, register, login). */
  | { kind: 'anonymous' };
