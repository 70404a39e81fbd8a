/**
 * Handler types derived from the types generated out of openapi.yaml (`make gen-types`), so a
 * handler that returns a body the contract does not describe fails to compile.
 */
import type { Context as KoaContext } from 'koa';
import type { operations } from '../generated/openapi.ts';
import type { Actor } from '../auth/actor.ts';
import type { Caller } from '../auth/caller.ts';

export type OperationId = keyof operations;
type Op<O extends OperationId> = operations[O];

type JsonContent<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type AnyContent<T> = T extends { content: infer C } ? C[keyof C] : undefined;

export type RequestBody<O extends OperationId> =
  Op<O> extends { requestBody: infer R } ? JsonContent<R> : undefined;
export type QueryOf<O extends OperationId> = Op<O>['parameters'] extends { query?: infer Q }
  ? NonNullable<Q>
  : never;
export type PathOf<O extends OperationId> = Op<O>['parameters'] extends { path: infer P } ? P : never;

/** Statuses a handler returns; errors are thrown instead (a health report of 503 is a reply, not an error). */
type SuccessStatus = 200 | 201 | 204 | 304 | 503;
type Responses<O extends OperationId> = Op<O>['responses'];

/** What a handler returns: one of the operation's documented responses. Errors are thrown as AppError. */
export type Reply<O extends OperationId> = {
  [S in keyof Responses<O> & SuccessStatus]: {
    status: S;
    body: AnyContent<Responses<O>[S]>;
    /** media type, for bodies that are not JSON */
    type?: string;
    headers?: Record<string, string>;
  };
}[keyof Responses<O> & SuccessStatus];

export interface HandlerInput<O extends OperationId> {
  body: RequestBody<O>;
  query: QueryOf<O>;
  params: PathOf<O>;
  /** Who is calling: a session, or the trusted client of AUTH_DISABLED mode. */
  caller: Caller;
  /** The user the request acts as, resolved from the caller and `?user_id=` (auth/actor.ts). */
  actor: Actor;
  koa: KoaContext;
}

export type Handler<O extends OperationId> = (input: HandlerInput<O>) => Promise<Reply<O>> | Reply<O>;

/** Every operation of the contract with its handler: a missing one does not compile. */
export type HandlerMap = { [O in OperationId]: Handler<O> };
