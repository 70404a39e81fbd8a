// `make start`: the API in the foreground and, when AMQP_URL names a real broker, one search
// consumer process beside it. SIGINT/SIGTERM go to both; each stops gracefully. If either exits on
// its own, the other is stopped too and the exit code says what happened.
import { spawn } from 'node:child_process';

const amqp = /^amqps?:\/\//.test(process.env.AMQP_URL ?? '');
const services = [['api', 'api/dist/main.js'], ...(amqp ? [['consumer', 'consumer/dist/main.js']] : [])];

let exitCode = 0;
let stopping = false;
const children = services.map(([name, entry]) => {
  const child = spawn(process.execPath, ['--enable-source-maps', entry], { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (code !== 0) exitCode = code ?? 1;
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}): stopping the rest`);
      stopAll('SIGTERM');
    }
  });
  return child;
});

function stopAll(signal) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(signal));
await Promise.all(
  children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve() : c.on('exit', resolve)))),
);
process.exit(exitCode);
