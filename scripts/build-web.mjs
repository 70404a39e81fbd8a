// Builds the web client (web/ -> web/dist, which the API serves at /) with Vite.
//
// `node scripts/build-web.mjs --if-stale` builds only when a file the client is made from is newer
// than the last build (or there is none): scripts/build.mjs (`make start`) and the browser tests run
// it, and neither should pay ~1 s for a build it does not need.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const web = path.join(root, 'web');
const BUILT = path.join(web, 'dist', 'index.html');
/** What the client is built from besides web/src: its page, config, dependencies and API types. */
const INPUTS = [
  'web/index.html',
  'web/vite.config.ts',
  'web/package.json',
  'package-lock.json',
  'api/src/generated/openapi.ts',
  'scripts/build-web.mjs',
];

async function mtime(file) {
  return (await stat(file).catch(() => undefined))?.mtimeMs;
}

async function isStale() {
  const built = await mtime(BUILT);
  if (built === undefined) return true;
  const sources = (await readdir(path.join(web, 'src'), { recursive: true })).map((f) =>
    path.join(web, 'src', f),
  );
  const times = await Promise.all([...sources, ...INPUTS.map((f) => path.join(root, f))].map(mtime));
  return times.some((t) => t !== undefined && t > built);
}

export async function buildWeb({ ifStale = false } = {}) {
  if (ifStale && !(await isStale())) return false;
  // Loaded only when there is something to build.
  const { build } = await import('vite');
  await build({ root: web, configFile: path.join(web, 'vite.config.ts'), logLevel: 'warn' });
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildWeb({ ifStale: process.argv.includes('--if-stale') });
}
