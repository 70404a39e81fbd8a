import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

/**
 * The Swagger UI files the docs page loads, and their media types: nothing else is served. A Map,
 * so a name such as `__proto__` or `constructor` finds nothing rather than an inherited property.
 */
const DOCS_ASSETS = new Map<string, string>([
  ['swagger-ui.css', 'text/css'],
  ['swagger-ui-bundle.js', 'application/javascript'],
  ['swagger-ui-standalone-preset.js', 'application/javascript'],
  ['favicon-32x32.png', 'image/png'],
]);
const require = createRequire(import.meta.url);
const swaggerUiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const swaggerUiVersion = (require('swagger-ui-dist/package.json') as { version: string }).version;

/** A day: the files change only with a new swagger-ui-dist, and the ETag names that release. */
export const DOCS_CACHE_CONTROL = 'public, max-age=86400';

export type Encoding = 'br' | 'gzip' | 'identity';

/** One asset, ready to send in each encoding (compressed once, on first request). */
export interface Asset {
  type: string;
  etag: string;
  bodies: Record<Encoding, Buffer>;
}

const compress = { br: promisify(brotliCompress), gzip: promisify(gzip) };

/**
 * Swagger UI's assets, compressed once with brotli and gzip (the 1.5 MB bundle is ~0.3 MB in br)
 * and sent in the best encoding the client accepts. PNGs are already compressed and go as they are.
 */
export class DocsAssets {
  private readonly loaded = new Map<string, Promise<Asset>>();

  /** The asset of that name, or `undefined` when the docs page does not load such a file. */
  get(name: string): Promise<Asset> | undefined {
    const type = DOCS_ASSETS.get(name);
    if (!type) return undefined;
    let asset = this.loaded.get(name);
    if (!asset) {
      asset = load(name, type);
      // A failed read is tried again next time rather than cached.
      asset.catch(() => this.loaded.delete(name));
      this.loaded.set(name, asset);
    }
    return asset;
  }
}

async function load(name: string, type: string): Promise<Asset> {
  const identity = await readFile(path.join(swaggerUiDir, name));
  const etag = `"swagger-ui-${swaggerUiVersion}-${name}"`;
  if (type === 'image/png') return { type, etag, bodies: { br: identity, gzip: identity, identity } };
  return { type, etag, bodies: await encodings(identity) };
}

/** The file as it is and compressed with brotli and gzip, each once (the web client's assets too). */
export async function encodings(identity: Buffer): Promise<Record<Encoding, Buffer>> {
  const [br, gz] = await Promise.all([
    compress.br(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } }),
    compress.gzip(identity, { level: 9 }),
  ]);
  return { br, gzip: gz, identity };
}

/** The best encoding `Accept-Encoding` allows (brotli, then gzip); `identity` for a PNG or none. */
export function chooseEncoding(acceptEncoding: string, type: string): Encoding {
  if (type === 'image/png') return 'identity';
  const accepted = new Map(
    acceptEncoding
      .toLowerCase()
      .split(',')
      .map((part) => {
        const [coding = '', ...params] = part.trim().split(';');
        const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
        return [coding.trim(), q === undefined ? 1 : Number(q)] as const;
      }),
  );
  const allows = (coding: string) => (accepted.get(coding) ?? accepted.get('*') ?? 0) > 0;
  if (allows('br')) return 'br';
  if (allows('gzip')) return 'gzip';
  return 'identity';
}
