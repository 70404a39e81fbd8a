import { readFileSync } from 'node:fs';
import type { Context as KoaContext, Middleware } from 'koa';
import { OpenAPIBackend, type Context as OpenApiContext, type Document } from 'openapi-backend';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { AppError, projectRoot } from '@messenger/shared';
import type { Caller } from '../auth/caller.ts';
import type { HandlerInput, HandlerMap, OperationId, Reply } from './handler-types.ts';
import type { RateLimitClass } from './throttle.ts';

/** The contract, at the root of the repository. */
export const SPEC_PATH = `${projectRoot()}/openapi.yaml`;

export function readSpec(): { text: string; document: Document } {
  const text = readFileSync(SPEC_PATH, 'utf8');
  return { text, document: parseYaml(text) as Document };
}

export interface ContractOptions {
  document: Document;
  handlers: HandlerMap;
  /** Resolves the caller of an operation that requires a session (throws the 401 that fits). */
  authenticate: (koa: KoaContext) => Promise<Caller>;
  /** Runs once the caller is known, before validation: throttling (throws 429). */
  throttle?: (
    koa: KoaContext,
    limitClass: RateLimitClass,
    caller: Caller | undefined,
    body: unknown,
  ) => Promise<void>;
}

/** The contract's pattern for text PostgreSQL stores: anything but NUL, which it cannot store. */
const NO_NUL_PATTERN = '^[^\\u0000]*$';

/** One ajv error as a sentence a client developer can act on. */
function describeValidationError(e: {
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}): string {
  const [, where, ...rest] = e.instancePath.split('/');
  const field = rest.join('.');
  const subject =
    where === 'requestBody'
      ? field
        ? `body field "${field}"`
        : 'the body'
      : where === 'query'
        ? `query parameter "${field}"`
        : where === 'path'
          ? `path parameter "${field}"`
          : where === 'headers'
            ? `header "${field}"`
            : 'the request';
  if (e.params && typeof e.params.missingProperty === 'string') {
    const missing = e.params.missingProperty;
    if (where === 'requestBody' || missing === 'requestBody') {
      return missing === 'requestBody' ? 'a JSON body is required' : `body field "${missing}" is required`;
    }
    return `${where === 'query' ? 'query parameter' : 'parameter'} "${missing}" is required`;
  }
  if (e.params?.pattern === NO_NUL_PATTERN) return `${subject} must not contain NUL (\\u0000) characters`;
  return `${subject} ${e.message ?? 'is invalid'}`;
}

/**
 * Binds every operation of openapi.yaml to its handler with openapi-backend, which routes and
 * validates each request against the contract. An operation without a handler, or a handler
 * without an operation, stops start-up.
 */
export async function createContractRouter(options: ContractOptions): Promise<Middleware> {
  const api = new OpenAPIBackend({
    definition: options.document,
    strict: true,
    // Compiles each operation's validators on its first request instead of all at start-up.
    quick: true,
    coerceTypes: true,
    ajvOpts: { allErrors: false },
    customizeAjv: (ajv) => {
      addFormats.default(ajv);
      return ajv;
    },
  });

  for (const [operationId, handler] of Object.entries(options.handlers)) {
    api.register(operationId, async (c: OpenApiContext, koa: KoaContext) => {
      const input: HandlerInput<OperationId> = {
        body: c.request.requestBody,
        query: c.request.query as never,
        params: c.request.params as never,
        caller: (c.security?.sessionId as Caller | undefined) ?? { kind: 'anonymous' },
        koa,
      };
      const reply = (await (handler as (i: typeof input) => Promise<Reply<OperationId>>)(input)) as {
        status: number;
        body: unknown;
        type?: string;
        headers?: Record<string, string>;
      };
      koa.status = reply.status;
      if (reply.headers) koa.set(reply.headers);
      if (reply.body !== undefined) {
        koa.body = reply.body;
        if (reply.type) koa.type = reply.type;
      }
    });
  }

  api.registerSecurityHandler('sessionId', (_c: OpenApiContext, koa: KoaContext) =>
    options.authenticate(koa),
  );
  const throttle = options.throttle;
  api.register({
    ...(throttle && {
      postSecurityHandler: async (c: OpenApiContext, koa: KoaContext) => {
        const result = c.security?.sessionId as
          (Caller & { error?: undefined }) | { error: unknown } | undefined;
        const caller = result && !result.error ? (result as Caller) : undefined;
        const limitClass = ((c.operation as { 'x-rate-limit'?: RateLimitClass })['x-rate-limit'] ??
          'api') as RateLimitClass;
        await throttle(koa, limitClass, caller, c.request.requestBody);
      },
    }),
    unauthorizedHandler: (c: OpenApiContext) => {
      const result = c.security?.sessionId as { error?: unknown } | undefined;
      throw (
        result?.error ?? new AppError('auth-failed', 'this operation needs Authorization: session_id <token>')
      );
    },
    validationFail: (c: OpenApiContext) => {
      const errors = c.validation.errors ?? [];
      const detail =
        errors.map(describeValidationError).join('; ') || 'the request does not match the contract';
      throw new AppError('bad-parameters', detail);
    },
    notFound: (c: OpenApiContext) => {
      throw new AppError('not-found', `no route ${c.request.method.toUpperCase()} ${c.request.path}`);
    },
    methodNotAllowed: (c: OpenApiContext, koa: KoaContext) => {
      const allowed = ['get', 'post', 'put', 'patch', 'delete']
        .filter((method) =>
          api.router.matchOperation({ method, path: c.request.path, headers: {}, query: {} }),
        )
        .map((method) => method.toUpperCase());
      koa.set('Allow', allowed.join(', '));
      throw new AppError('method-not-allowed', `${c.request.method.toUpperCase()} is not allowed here`);
    },
  });

  await api.init();

  const missing = api
    .getOperations()
    .map((o) => o.operationId)
    .filter((id): id is string => !!id && !api.handlers[id]);
  if (missing.length > 0) throw new Error(`operations without a handler: ${missing.join(', ')}`);

  return async (koa) => {
    await api.handleRequest(
      {
        method: koa.method,
        path: koa.path,
        query: koa.query as Record<string, string | string[]>,
        headers: koa.headers as Record<string, string | string[]>,
        body: (koa.request as { body?: unknown }).body,
      },
      koa,
    );
  };
}
