import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '@messenger/shared';
import { type Asset, encodings } from './docs-assets.ts';

/** Where `npm run build -w web` writes the client (web/vite.config.ts). */
export const WEB_DIST = path.join(projectRoot(), 'web', 'dist');

/** The page is revalidated on every load, so a browser never keeps an old build; its ETag makes that cheap. */
export const WEB_PAGE_CACHE_CONTROL = 'no-cache';
/** Vite puts a hash of the content in every asset's name: a new build means new names. */
export const WEB_ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** The media types of the files a build holds; a file of any other kind is not served. */
const TYPES = new Map<string, string>([
  ['.js', 'application/javascript'],
  ['.css', 'text/css'],
]);

/** Shown at `/` (503) when the client is not built, so the fix is on the screen. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Messenger: web client not built</title></head>
<body>
  <h1>The web client is not built</h1>
  <p>Run <code>npm run build -w web</code> (or <code>make start</code>, which builds it) and reload.</p>
  <p>The API itself is running: see <a href="/docs">/docs</a>.</p>
</body>
</html>
`;

interface Build {
  /** When the page file was written: a different time means a new build to read. */
  written: number;
  page: Asset;
  /** A Map, so a name such as `__proto__` finds nothing rather than an inherited property. */
  assets: Map<string, Asset>;
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * The built web client in web/dist: its page and the files of web/dist/assets, read on first
 * request and compressed once each. Only names listed in that folder are served (no path is ever
 * built from a request). While there is no build, every request looks again, so building the client
 * while the API runs is enough; and each page request checks when the page file was written (one
 * `stat`), so a rebuild (`make run-dev` rebuilds on every change) is served from the next load on.
 */
export class WebClient {
  private build: Promise<Build | undefined> | undefined;

  constructor(private readonly dist: string = WEB_DIST) {}

  /** The page, or `undefined` when the client is not built. */
  async page(): Promise<Asset | undefined> {
    await this.forgetIfRebuilt();
    return (await this.load())?.page;
  }

  /** The asset of that name, or `undefined` when the build has no such file. */
  async asset(name: string): Promise<Asset | undefined> {
    const found = (await this.load())?.assets.get(name);
    if (found) return found;
    // A page of a newer build may ask for its files before any page request saw that build.
    return (await this.forgetIfRebuilt()) ? (await this.load())?.assets.get(name) : undefined;
  }

  /** Drops the build read before when the page file has been written since; answers whether it did. */
  private async forgetIfRebuilt(): Promise<boolean> {
    const loaded = this.build && (await this.build);
    if (!loaded) return false;
    const written = await writtenAt(this.dist);
    if (written === loaded.written) return false;
    this.build = undefined;
    return true;
  }

  private load(): Promise<Build | undefined> {
    if (!this.build) {
      const build = readBuild(this.dist);
      // No build yet (or a failed read): look again next time rather than remember the miss.
      build.then(
        (found) => found ?? (this.build = undefined),
        () => (this.build = undefined),
      );
      this.build = build;
    }
    return this.build;
  }
}

/** When web/dist/index.html was last written, or `undefined` when there is none. */
async function writtenAt(dist: string): Promise<number | undefined> {
  return (await stat(path.join(dist, 'index.html')).catch(() => undefined))?.mtimeMs;
}

async function readBuild(dist: string): Promise<Build | undefined> {
  let html: Buffer;
  let written: number | undefined;
  try {
    written = await writtenAt(dist);
    html = await readFile(path.join(dist, 'index.html'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const page: Asset = { type: 'text/html', etag: etagOf(html), bodies: await encodings(html) };
  const names = await readdir(path.join(dist, 'assets')).catch(() => [] as string[]);
  // A build has a handful of files: all are read and compressed at once, on the first request.
  const entries = await Promise.all(
    names.flatMap((name) => {
      const type = TYPES.get(path.extname(name));
      if (!type) return [];
      return [
        readFile(path.join(dist, 'assets', name)).then(async (body): Promise<[string, Asset]> => [
          name,
          { type, etag: etagOf(body), bodies: await encodings(body) },
        ]),
      ];
    }),
  );
  const assets = new Map(entries);
  return { written: written ?? 0, page, assets };
}
