// Bundles the services' own TypeScript (the workspace packages included) into plain ESM that node
// runs without a loader: tsx resolving each of kysely's ~280 ESM files costs ~0.4 s at start-up.
// Dependencies stay external and load from node_modules.
//
// `node scripts/build.mjs --if-stale` builds only when a source the last bundle was made from has
// changed since (or there is no bundle): `make start` runs it on every start, and a start must not
// pay for a build it does not need.
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';

const ownCode = /^(\.|\/|@messenger\/)/;
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
  plugins: [
    {
      name: 'dependencies-stay-external',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) =>
          args.kind === 'entry-point' || ownCode.test(args.path)
            ? undefined
            : { path: args.path, external: true },
        );
      },
    },
  ],
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
