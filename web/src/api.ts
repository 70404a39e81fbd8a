import createClient, { type Middleware } from 'openapi-fetch';
// Types only: the client is typed by the contract and nothing of the API's code reaches the bundle.
import type { components, paths } from '../../api/src/generated/openapi.ts';

type Schemas = components['schemas'];
export type Chat = Schemas['Chat'];
export type Message = Schemas['Message'];
export type Attachment = Schemas['Attachment'];
export type Member = Schemas['ChatMember'];
export type SearchHit = Schemas['SearchHit'];
export type Profile = Schemas['UserProfile'];
export type ReadPosition = Schemas['ReadPosition'];

/** What each event of GET /v1/events carries (openapi.yaml, `x-events`). */
export interface EventPayloads {
  'message.created': Schemas['MessageEvent'];
  'message.edited': Schemas['MessageEvent'];
  'message.deleted': Schemas['MessageDeletedEvent'];
  'chat.created': Schemas['ChatCreatedEvent'];
  'chat.member_added': Schemas['MemberAddedEvent'];
  'chat.member_removed': Schemas['MemberRemovedEvent'];
  'chat.deleted': Schemas['ChatDeletedEvent'];
  'chat.read': Schemas['ChatReadEvent'];
  typing: Schemas['TypingEvent'];
  resync: Schemas['ResyncEvent'];
}
export type EventType = keyof EventPayloads;
/** One event off the stream, its payload typed by its type. */
export type StreamEvent = { [T in EventType]: { type: T; payload: EventPayloads[T] } }[EventType];

/** The API's address: the page's own origin unless the build names another (VITE_API_URL). */
export const API_URL: string = import.meta.env.VITE_API_URL ?? location.origin;

const TOKEN_KEY = 'messenger.session';

/** The session token, kept in localStorage so a reload keeps the person logged in. */
export const session = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** Called when the API answers 401 to a request that carried a session: it has ended. */
let onSessionEnded: () => void = () => {};
export function whenSessionEnds(callback: () => void): void {
  onSessionEnded = callback;
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.get();
    if (token) request.headers.set('Authorization', `session_id ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has('Authorization')) {
      session.clear();
      onSessionEnded();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: API_URL });
api.use(auth);

/** What to show for a failed call: the API's `detail`, or what went wrong on the way. */
export function problem(error: unknown): string {
  if (error && typeof error === 'object' && 'detail' in error && typeof error.detail === 'string') {
    return error.detail;
  }
  // fetch rejects with a TypeError when no answer arrives at all (offline, the API restarting).
  if (error instanceof TypeError) return 'The service cannot be reached.';
  if (error instanceof Error) return error.message;
  return 'The request failed';
}

/** Throws the API's `detail` when a call failed; returns its data otherwise. */
export function data<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw new Error(problem(result.error ?? `HTTP ${result.response.status}`));
  }
  return result.data;
}
