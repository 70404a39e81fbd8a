// `make run-dev`: the API and the web client, each rebuilt on change.
//
// The web client is built by Vite in watch mode into web/dist (the API serves a rebuild from the next
// page load: api/src/system/web-client.ts), and the API runs under `tsx watch`, which restarts it when
// a file it imports changes. One process for both, so Ctrl-C stops both. Arguments (such as
// `--env-file=.env`) go to the API's node.
//
// A rebuild of the page shows when the browser reloads; Vite's own dev server (`npm run dev -w web`,
// with hot reload) is there for long sessions on the client itself.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const web = path.join(root, 'web');

const { build } = await import('vite');
const watcher = await build({
  root: web,
  configFile: path.join(web, 'vite.config.ts'),
  logLevel: 'warn',
  build: { watch: {} },
});
watcher.on('event', (event) => {
  if (event.code === 'BUNDLE_END') {
    console.log(`web client built into web/dist (${event.duration} ms)`);
    void event.result?.close();
  } else if (event.code === 'ERROR') {
    // The last good build stays served; the error shows here until the next save fixes it.
    console.error(`web client build failed: ${event.error.message}`);
    void event.result?.close();
  }
});

const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const api = spawn(
  process.execPath,
  [tsx, 'watch', ...process.argv.slice(2), '--clear-screen=false', 'api/src/main.ts'],
  { cwd: root, stdio: 'inherit' },
);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  void watcher.close();
  // A terminal's Ctrl-C reaches the whole process group; a `kill` of this process alone does not.
  api.kill(signal);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
api.on('exit', (code, signal) => {
  void watcher.close();
  process.exit(code ?? (signal ? 0 : 1));
});
