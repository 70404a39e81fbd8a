// Bundles the services' own TypeScript (the workspace packages included) into plain ESM that node
// runs without a loader: tsx resolving each of kysely's ~280 ESM files costs ~0.4 s at start-up.
// Dependencies stay external and load from node_modules.
import { build } from 'esbuild';

const ownCode = /^(\.|\/|@messenger\/)/;

await build({
  entryPoints: { 'api/dist/main': 'api/src/main.ts', 'consumer/dist/main': 'consumer/src/main.ts' },
  outdir: '.',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
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
