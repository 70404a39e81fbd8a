import { AppError, type Database, type Queue, type Store } from '@messenger/shared';
import type { Handler } from '../http/handler-types.ts';
import type { HealthCheck } from '../schemas.ts';
import { type Asset, chooseEncoding, DOCS_CACHE_CONTROL, DocsAssets } from './docs-assets.ts';
import { NOT_BUILT_PAGE, WEB_ASSET_CACHE_CONTROL, WEB_PAGE_CACHE_CONTROL, WebClient } from './web-client.ts';

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Messenger API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/docs-init.js"></script>
</body>
</html>
`;

/** Runs one dependency check and times it; a check that throws or answers false has failed. */
async function timed(backend: string, check: () => Promise<boolean>): Promise<HealthCheck> {
  const started = performance.now();
  let ok = false;
  let error: string | undefined;
  try {
    ok = await check();
    if (!ok) error = 'no answer';
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const ms = Math.round((performance.now() - started) * 10) / 10;
  return { backend, ok, ms, ...(error ? { error } : {}) };
}

/**
 * An asset in the best encoding the client accepts, or 304 when its `If-None-Match` names the
 * current version: how the docs' assets and the web client's files are sent.
 */
function sendAsset(asset: Asset, cacheControl: string, koa: { get(field: string): string }) {
  const cacheHeaders = { ETag: asset.etag, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding' };
  const known = koa.get('if-none-match');
  if (known.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
    return { status: 304 as const, body: undefined, headers: cacheHeaders };
  }
  const encoding = chooseEncoding(koa.get('accept-encoding'), asset.type);
  return {
    status: 200 as const,
    body: asset.bodies[encoding] as unknown as string,
    type: asset.type,
    headers: { ...cacheHeaders, ...(encoding !== 'identity' && { 'Content-Encoding': encoding }) },
  };
}

/** Liveness, readiness, the API's own documentation and the web client. */
export function systemHandlers(
  database: Database,
  store: Store,
  queue: () => Promise<Queue>,
  queueBackend: string,
  specText: string,
  /** How many event streams this instance serves now. */
  connectedStreams: () => number,
): {
  ping: Handler<'ping'>;
  checkHealth: Handler<'checkHealth'>;
  checkHealthPost: Handler<'checkHealthPost'>;
  pingDb: Handler<'pingDb'>;
  getOpenApiSpec: Handler<'getOpenApiSpec'>;
  getDocs: Handler<'getDocs'>;
  getDocsAsset: Handler<'getDocsAsset'>;
  getWebClient: Handler<'getWebClient'>;
  getWebClientAsset: Handler<'getWebClientAsset'>;
} {
  const assets = new DocsAssets();
  const web = new WebClient();
  const checkHealth = async () => {
    const [db, st, q] = await Promise.all([
      timed(database.backend, () => database.ping()),
      timed(store.backend, () => store.ping()),
      timed(queueBackend, async () => (await queue()).ping()),
    ]);
    const ok = db.ok && st.ok && q.ok;
    return {
      status: ok ? (200 as const) : (503 as const),
      body: {
        health: ok ? ('ok' as const) : ('fail' as const),
        checks: { database: db, store: st, queue: q },
        streams: { connected: connectedStreams() },
      },
    };
  };
  return {
    checkHealth,
    checkHealthPost: checkHealth,
    ping: () => ({ status: 200, body: { status: 'ok' } }),
    pingDb: async () => {
      if (!(await database.ping())) throw new AppError('service-unavailable', 'the database does not answer');
      return { status: 200, body: { status: 'ok' } };
    },
    getOpenApiSpec: () => ({ status: 200, body: specText, type: 'application/yaml' }),
    getDocs: () => ({ status: 200, body: DOCS_PAGE, type: 'text/html' }),
    getDocsAsset: async ({ params, koa }) => {
      const name = params.asset;
      if (name === 'docs-init.js') {
        // A file of its own rather than an inline script, so a strict CSP can forbid inline code.
        const init = `window.ui = SwaggerUIBundle({ url: '/openapi.yaml', dom_id: '#swagger-ui' });\n`;
        return { status: 200, body: init, type: 'application/javascript' };
      }
      const asset = await assets.get(name);
      if (!asset) throw new AppError('not-found', `no docs asset "${name}"`);
      return sendAsset(asset, DOCS_CACHE_CONTROL, koa);
    },
    getWebClient: async ({ koa }) => {
      const page = await web.page();
      if (!page) return { status: 503, body: NOT_BUILT_PAGE, type: 'text/html' };
      return sendAsset(page, WEB_PAGE_CACHE_CONTROL, koa);
    },
    getWebClientAsset: async ({ params, koa }) => {
      const asset = await web.asset(params.asset);
      if (!asset) throw new AppError('not-found', `no web client asset "${params.asset}"`);
      return sendAsset(asset, WEB_ASSET_CACHE_CONTROL, koa);
    },
  };
}
