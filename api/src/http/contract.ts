import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Context as KoaContext, Middleware } from 'koa';
import {
  OpenAPIBackend,
  type Context as OpenApiContext,
  type Document,
  type Operation,
} from 'openapi-backend';
import addFormats from 'ajv-formats';
import { AppError, projectRoot } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import type { Caller } from '../auth/caller.ts';
import type { HandlerInput, HandlerMap, OperationId, Reply } from './handler-types.ts';
import { decodablePath } from './request-path.ts';
import { RouteTable } from './route-table.ts';
import type { RateLimitClass } from './throttle.ts';

/** The contract, at the root of the repository. */
export const SPEC_PATH = `${projectRoot()}/openapi.yaml`;
/**
 * The contract parsed at build time (scripts/build.mjs), with the hash of the YAML it came from.
 * Parsing 2,500 lines of YAML cost ~0.3 s of every start; JSON.parse costs a few ms.
 */
export const PREBUILT_SPEC_PATH = `${projectRoot()}/api/dist/openapi.json`;

export function readSpec(): { text: string; document: Document } {
  const text = readFileSync(SPEC_PATH, 'utf8');
  return { text, document: prebuiltSpec(text) ?? parseYaml(text) };
}

/** Loaded only without a current prebuilt document (tests, `make run-dev`): it costs a start ~50 ms. */
function parseYaml(text: string): Document {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text) as Document;
}

/** The prebuilt document, if there is one and it was built from exactly this YAML. */
function prebuiltSpec(text: string): Document | undefined {
  let prebuilt: { sha256?: unknown; document?: Document };
  try {
    prebuilt = JSON.parse(readFileSync(PREBUILT_SPEC_PATH, 'utf8')) as typeof prebuilt;
  } catch {
    return undefined;
  }
  return prebuilt.sha256 === createHash('sha256').update(text).digest('hex') ? prebuilt.document : undefined;
}

export interface ContractOptions {
  document: Document;
  handlers: HandlerMap;
  /** Resolves the caller of an operation that requires a session (throws the 401 that fits). */
  authenticate: (koa: KoaContext) => Promise<Caller>;
  /** The caller a single-use event-stream ticket (`?ticket=`) stands for (throws the 401 that fits). */
  redeemTicket?: (ticket: string) => Promise<Caller>;
  /** Resolves who a request acts as, from its caller and its validated `user_id` parameter. */
  resolveActor: (caller: Caller, userIdParam: string | undefined) => Promise<Actor>;
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

/** An ajv error, as openapi-backend reports it. */
interface ValidationError {
  instancePath: string;
  schemaPath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * The errors of a request as sentences a client developer can act on, joined by "; ". The errors of
 * one `oneOf` (a typed attachment, say) become one sentence about the alternative the value was
 * meant to be, not one per alternative it is not.
 */
function describeValidationError(errors: ValidationError[]): string {
  const groups = errors.filter((e) => e.keyword === 'oneOf' && e.schemaPath);
  const inGroup = (e: ValidationError, g: ValidationError) =>
    e === g || (e.schemaPath?.startsWith(`${g.schemaPath}/`) ?? false);
  const sentences: string[] = [];
  for (const e of errors) {
    const group = groups.find((g) => inGroup(e, g));
    if (!group) sentences.push(describeOne(e));
    else if (e === group)
      sentences.push(
        describeOneOf(
          group,
          errors.filter((x) => x !== group && inGroup(x, group)),
        ),
      );
  }
  return [...new Set(sentences)].join('; ');
}

/**
 * One failed `oneOf`: each alternative reported the first thing it did not like. Alternatives that
 * failed on the discriminator (`type`) are not what the client meant; of the rest, one that failed
 * on a field of the value (not on a missing one) got furthest. When that leaves one, it is the
 * answer; else every candidate is named.
 */
function describeOneOf(group: ValidationError, branchErrors: ValidationError[]): string {
  const item = group.instancePath;
  const isDiscriminator = (e: ValidationError) =>
    (e.instancePath === `${item}/type` && (e.keyword === 'enum' || e.keyword === 'const')) ||
    (e.instancePath === item && e.params?.missingProperty === 'type') ||
    (e.instancePath === item && e.keyword === 'type');
  const candidates = branchErrors.filter((e) => !isDiscriminator(e));
  if (candidates.length === 0) {
    const first = branchErrors[0];
    if (!first) return describeOne(group);
    if (first.keyword === 'type') return describeOne(first);
    if (first.params?.missingProperty === 'type') return describeOne(first);
    const allowed = branchErrors.flatMap((e) =>
      Array.isArray(e.params?.allowedValues) ? (e.params.allowedValues as unknown[]) : [],
    );
    return `${subjectOf(`${item}/type`)} must be one of: ${allowed.join(', ')}`;
  }
  const deeper = candidates.filter((e) => e.instancePath !== item);
  const chosen = deeper.length === 1 ? deeper : candidates;
  if (chosen.length === 1) return describeOne(chosen[0]!);
  const mismatched = branchErrors.filter(isDiscriminator).map(describeOne);
  return `${subjectOf(item)} matches none of its allowed shapes: ${[...new Set([...chosen.map(describeOne), ...mismatched])].join(', or ')}`;
}

/** Where an instance path points, as the detail names it. */
function subjectOf(instancePath: string): string {
  const [, where, ...rest] = instancePath.split('/');
  const field = rest.join('.');
  return where === 'requestBody'
    ? field
      ? `body field "${field}"`
      : 'the body'
    : where === 'query'
      ? `query parameter "${field}"`
      : where === 'path'
        ? `path parameter "${field}"`
        : where === 'headers' || where === 'header'
          ? `header "${field}"`
          : 'the request';
}

/** One ajv error as a sentence. */
function describeOne(e: ValidationError): string {
  const [, where, ...rest] = e.instancePath.split('/');
  const subject = subjectOf(e.instancePath);
  if (e.params && typeof e.params.missingProperty === 'string') {
    const missing = e.params.missingProperty;
    if (where === 'requestBody' || missing === 'requestBody') {
      if (missing === 'requestBody') return 'a JSON body is required';
      // A field of a nested object is named by its whole path ("attachments.0.width").
      return `body field "${[...rest, missing].join('.')}" is required`;
    }
    return `${where === 'query' ? 'query parameter' : 'parameter'} "${missing}" is required`;
  }
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
    const name = e.params.additionalProperty;
    return where === 'query'
      ? `query parameter "${name}" is not accepted here`
      : `${subject} must not have "${name}"`;
  }
  if (e.params?.pattern === NO_NUL_PATTERN) return `${subject} must not contain NUL (\\u0000) characters`;
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) {
    return `${subject} must be one of: ${(e.params.allowedValues as unknown[]).join(', ')}`;
  }
  if (e.keyword === 'pattern' && /url$/i.test(e.instancePath)) {
    return `${subject} must be an http:// or https:// URL`;
  }
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
      const caller = securityOutcome(c, koa).caller ?? { kind: 'anonymous' };
      const query = c.request.query as { user_id?: unknown };
      const input: HandlerInput<OperationId> = {
        body: c.request.requestBody,
        query: query as never,
        params: c.request.params as never,
        caller,
        actor: await options.resolveActor(
          caller,
          typeof query.user_id === 'string' ? query.user_id : undefined,
        ),
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

  // Both schemes read the same Authorization header (session_id or Bearer): resolved once a request.
  const authenticateOnce = (_c: OpenApiContext, koa: KoaContext): Promise<Caller> =>
    ((koa.state as { caller?: Promise<Caller> }).caller ??= options.authenticate(koa));
  api.registerSecurityHandler('sessionId', authenticateOnce);
  api.registerSecurityHandler('bearerAuth', authenticateOnce);
  api.registerSecurityHandler('eventTicket', (_c: OpenApiContext, koa: KoaContext) => {
    const ticket = koa.query.ticket;
    if (typeof ticket !== 'string' || ticket === '') {
      throw new AppError('auth-failed', 'send Authorization: session_id <token>, or ?ticket=');
    }
    if (!options.redeemTicket) throw new AppError('auth-failed', 'tickets are not accepted here');
    return options.redeemTicket(ticket);
  });
  const throttle = options.throttle;
  api.register({
    ...(throttle && {
      postSecurityHandler: async (c: OpenApiContext, koa: KoaContext) => {
        const { caller } = securityOutcome(c, koa);
        const limitClass = (c.operation as { 'x-rate-limit'?: RateLimitClass })['x-rate-limit'] ?? 'api';
        await throttle(koa, limitClass, caller, c.request.requestBody);
      },
    }),
    unauthorizedHandler: (c: OpenApiContext, koa: KoaContext) => {
      throw (
        securityOutcome(c, koa).error ??
        new AppError(
          'auth-failed',
          'this operation needs Authorization: session_id <token> (or Bearer <token>)',
        )
      );
    },
    validationFail: (c: OpenApiContext) => {
      // No parameter of the contract is a list, so a repeated one is the mistake, whatever ajv says.
      const repeated = Object.entries(c.request.query ?? {}).find(([, value]) => Array.isArray(value));
      if (repeated)
        throw new AppError('bad-parameters', `query parameter "${repeated[0]}" is given more than once`);
      const errors = c.validation.errors ?? [];
      const detail = describeValidationError(errors) || 'the request does not match the contract';
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
  // openapi-backend rebuilds the list of operations from the document on every request (twice while
  // routing); the document never changes after start-up, so build it once.
  const operations = api.router.getOperations();
  api.router.getOperations = () => operations;
  // Routing with patterns compiled once (route-table.ts) in place of openapi-backend's, which builds
  // a RegExp per operation per match; the router and its validator both call these two.
  const routes = new RouteTable(operations);
  const router = api.router;
  router.matchOperation = ((req: { method: string; path: string }, strict?: boolean) => {
    const found = routes.match(req.method.trim().toLowerCase(), req.path);
    if (found.kind === 'found') return found.operation;
    if (!strict) return undefined;
    throw new Error(
      found.kind === 'not-found'
        ? '404-notFound: no route matches request'
        : '405-methodNotAllowed: this method is not registered for the route',
    );
  }) as typeof router.matchOperation;
  const parseRequest = router.parseRequest.bind(router);
  router.parseRequest = ((req: Parameters<typeof parseRequest>[0], operation?: Operation) => {
    // A request with cookies (none of the contract's parameters is one) goes the library's way.
    if (req.headers.cookie !== undefined || typeof req.query !== 'object') {
      const parsed = parseRequest(req);
      return operation ? { ...parsed, params: routes.paramsOf(operation.path, parsed.path) } : parsed;
    }
    // What openapi-backend's parseRequest answers, without its per-call costs (lodash deep copies
    // and key mapping of headers Node has already lower-cased, a cookie parse, and path parameters
    // from a pattern compiled anew): it ran three times a request, 11% of /ping's CPU.
    let requestBody: unknown = req.body;
    if (typeof requestBody === 'string' || Buffer.isBuffer(requestBody)) {
      try {
        requestBody = JSON.parse(requestBody.toString());
      } catch {
        // left as it is: validation reports it
      }
    }
    const query: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(req.query))
      query[name] = Array.isArray(value) ? [...value] : value;
    const path = pathOnly(req.path);
    return {
      ...req,
      method: req.method.trim().toLowerCase(),
      path,
      params: operation ? routes.paramsOf(operation.path, path) : {},
      // A copy: ajv's type coercion writes into what it validates.
      headers: { ...req.headers },
      query,
      cookies: {},
      requestBody,
    };
  }) as typeof router.parseRequest;

  const missing = api
    .getOperations()
    .map((o) => o.operationId)
    .filter((id): id is string => !!id && !api.handlers[id]);
  if (missing.length > 0) throw new Error(`operations without a handler: ${missing.join(', ')}`);

  /** Each operation's own query parameters: the only ones it validates and sees. */
  const queryNames = new Map(
    operations.map((o) => [
      o.operationId,
      new Set(
        ((o.parameters ?? []) as Array<{ in: string; name: string }>)
          .filter((p) => p.in === 'query')
          .map((p) => p.name),
      ),
    ]),
  );

  return async (koa) => {
    const request = {
      method: koa.method,
      path: decodablePath(koa.path),
      query: koa.query as Record<string, string | string[]>,
      headers: koa.headers as Record<string, string | string[]>,
    };
    const operation = api.router.matchOperation(request);
    if (operation) {
      // Clients, proxies and analytics add parameters of their own (utm_*, cache busters, the
      // original clients' ?chat_id=): an operation ignores what it does not take, and validates
      // what it does, strictly.
      request.query = onlyNamed(request.query, queryNames.get(operation.operationId));
      // The body is read only for a request that reaches an operation: an unknown route or method
      // is 404/405 whatever its body (json-body.ts). A DELETE's only where its operation takes one
      // (deleteMe's password): the others ignore a body, whatever it is, as they always have.
      if (operation.method !== 'delete' || operation.requestBody) await koa.state.readBody?.();
    }
    await api.handleRequest({ ...request, body: (koa.request as { body?: unknown }).body }, koa);
  };
}

/** A request path as openapi-backend normalises it: a leading slash, no query string. */
function pathOnly(raw: string): string {
  const path = raw.trim();
  const q = path.indexOf('?');
  const bare = q >= 0 ? path.slice(0, q) : path;
  return bare.startsWith('/') ? bare : `/${bare}`;
}

type SecurityResult = (Caller & { error?: undefined }) | { error: unknown } | undefined;

/**
 * What the security handlers found: the caller of the Authorization header, else of the ticket;
 * failing both, the error that says most (the ticket's, when one was sent).
 */
function securityOutcome(c: OpenApiContext, koa: KoaContext): { caller?: Caller; error?: unknown } {
  const header = c.security?.sessionId as SecurityResult;
  const ticket = c.security?.eventTicket as SecurityResult;
  for (const result of [header, ticket]) if (result && !result.error) return { caller: result as Caller };
  const error = koa.query.ticket !== undefined ? (ticket?.error ?? header?.error) : header?.error;
  return { error };
}

function onlyNamed<T>(query: Record<string, T>, names: ReadonlySet<string> | undefined): Record<string, T> {
  const kept: Record<string, T> = {};
  for (const [name, value] of Object.entries(query)) if (names?.has(name)) kept[name] = value;
  return kept;
}
