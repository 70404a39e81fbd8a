// Bundles each service, its workspace packages and its dependencies into one ESM file that node runs
// without a loader: resolving and loading several hundred module files costs most of a start.
//
// `node scripts/build.mjs --if-stale` builds only when a source the last bundle was made from has
// changed since (or there is no bundle): `make start` runs it on every start, and a start must not
// pay for a build it does not need.
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { buildWeb } from './build-web.mjs';

const OUTPUTS = ['api/dist/main.js', 'consumer/dist/main.js', 'api/dist/openapi.json'];
/** The files the last bundle was built from (esbuild's metafile inputs), with the build script itself. */
const INPUTS_FILE = 'api/dist/inputs.json';

async function mtime(file) {
  return (await stat(file).catch(() => undefined))?.mtimeMs;
}

async function isStale() {
  const built = await Promise.all(OUTPUTS.map(mtime));
  if (built.some((t) => t === undefined)) return true;
  const oldest = Math.min(...built);
  let inputs;
  try {
    inputs = JSON.parse(await readFile(INPUTS_FILE, 'utf8'));
  } catch {
    return true;
  }
  const times = await Promise.all(inputs.map(mtime));
  return times.some((t) => t === undefined || t > oldest);
}

// The web client the API serves at / (its own staleness check: its sources are not in the bundle).
await buildWeb({ ifStale: process.argv.includes('--if-stale') });

if (process.argv.includes('--if-stale') && !(await isStale())) process.exit(0);

// Loaded only when there is something to build: the import alone costs a start ~0.2 s.
const { build } = await import('esbuild');
const result = await build({
  entryPoints: { 'api/dist/main': 'api/src/main.ts', 'consumer/dist/main': 'consumer/src/main.ts' },
  outdir: '.',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  // Dependencies are bundled too: resolving and loading ~600 module files cost most of a start.
  // These stay in node_modules: native code, WASM and files found by path at run time, and what is
  // loaded only on demand (PGlite, pino-pretty, yaml) or optionally (pg-native).
  external: [
    'argon2',
    'pg-native',
    '@electric-sql/pglite',
    '@electric-sql/pglite/*',
    'kysely-pglite-dialect',
    'swagger-ui-dist',
    'swagger-ui-dist/*',
    'pino-pretty',
    'yaml',
  ],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
// The contract, parsed now rather than at every start (api/src/http/contract.ts, readSpec).
const { parse } = await import('yaml');
const specText = await readFile('openapi.yaml', 'utf8');
const sha256 = createHash('sha256').update(specText).digest('hex');
await writeFile('api/dist/openapi.json', JSON.stringify({ sha256, document: parse(specText) }));

const inputs = [
  ...Object.keys(result.metafile.inputs),
  'scripts/build.mjs',
  'package-lock.json',
  'openapi.yaml',
];
await writeFile(INPUTS_FILE, JSON.stringify(inputs));
