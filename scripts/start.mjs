// `make start`: the API in the foreground and, when AMQP_URL names a real broker, one search
// consumer beside it, supervised. A child that dies on its own is logged and started again after a
// backoff (0.5 s, doubling to 10 s, back to 0.5 s once it has run 30 s): one crash must not take the
// service down, nor the other child with it. SIGINT/SIGTERM stop both gracefully and the supervisor
// exits when they have, with 0 unless one of them failed to stop cleanly. A child that exits with
// code 2 has bad configuration, which a restart cannot fix: then everything stops with code 2.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** A child that ran this long before it died gets the short backoff again. */
const STABLE_MS = 30_000;
const EXIT_BAD_CONFIG = 2;

/** One JSON line per event, like the services' own (pino) log lines: 30 info, 40 warn, 50 error. */
function log(level, msg, fields = {}) {
  const line = { level, time: new Date().toISOString(), service: 'supervisor', ...fields, msg };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

const amqp = /^amqps?:\/\//.test(process.env.AMQP_URL ?? '');
const services = [['api', 'api/dist/main.js'], ...(amqp ? [['consumer', 'consumer/dist/main.js']] : [])];
// Each service's Node flags, the same for the container images and the bench (README, "Memory").
const NODE_FLAGS = JSON.parse(readFileSync(new URL('./node-flags.json', import.meta.url), 'utf8'));

// Set here, before the child's first use of the pool: password hashes run on it (see README, UV_THREADPOOL_SIZE).
const childEnv = { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE || '4' };

let stopping = false;
let exitCode = 0;

class Supervised {
  constructor(name, entry) {
    this.name = name;
    this.entry = entry;
    this.backoffMs = BACKOFF_FIRST_MS;
    this.child = undefined;
    this.restartTimer = undefined;
  }

  get running() {
    return this.child !== undefined || this.restartTimer !== undefined;
  }

  start() {
    this.restartTimer = undefined;
    const startedAt = Date.now();
    const child = spawn(process.execPath, [...NODE_FLAGS[this.name], this.entry], {
      stdio: 'inherit',
      env: childEnv,
    });
    this.child = child;
    log(30, `${this.name} started`, { child: this.name, pid: child.pid });
    let gone = false;
    const exited = (code, signal) => {
      if (gone) return;
      gone = true;
      this.child = undefined;
      this.exited(code, signal, Date.now() - startedAt);
    };
    child.on('exit', exited);
    child.on('error', (err) => {
      log(50, `${this.name} could not be run: ${err.message}`, { child: this.name });
      exited(1, null);
    });
  }

  exited(code, signal, ranMs) {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      if (code !== 0) exitCode = exitCode || code || 1;
      log(code === 0 ? 30 : 50, `${this.name} stopped (${how})`, { child: this.name, code, signal });
      finishWhenAllStopped();
      return;
    }
    if (code === EXIT_BAD_CONFIG) {
      log(50, `${this.name} exited with bad configuration (${how}): stopping everything`, {
        child: this.name,
      });
      exitCode = EXIT_BAD_CONFIG;
      stopAll('SIGTERM');
      return;
    }
    if (ranMs >= STABLE_MS) this.backoffMs = BACKOFF_FIRST_MS;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    log(50, `${this.name} exited (${how}) after ${ranMs} ms: restarting it in ${delayMs} ms`, {
      child: this.name,
      code,
      signal,
      ranMs,
      delayMs,
    });
    this.restartTimer = setTimeout(() => this.start(), delayMs);
  }

  stop(signal) {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    this.child?.kill(signal);
  }
}

const supervised = services.map(([name, entry]) => new Supervised(name, entry));

function finishWhenAllStopped() {
  if (supervised.some((s) => s.running)) return;
  log(30, 'stopped', { exitCode });
  process.exit(exitCode);
}

function stopAll(signal) {
  stopping = true;
  for (const s of supervised) s.stop(signal);
  finishWhenAllStopped();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    log(30, `${signal}: stopping`, { signal });
    stopAll(signal);
  });
}
for (const s of supervised) s.start();
