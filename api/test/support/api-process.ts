/**
 * Real service processes for the fault tests: the API and the consumer as `make start` runs them
 * (the esbuild bundles), as children of the test, each on a port the OS picked, with their output
 * kept so a failure shows what the process logged.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanupOnExit } from '../../../test/support/processes.ts';
import { testEnv } from './backends.ts';
import { freePort } from './free-port.ts';

const execFileAsync = promisify(execFile);

let built: Promise<unknown> | undefined;

/** `scripts/build.mjs` once per run: the bundles `make start` runs. */
export function buildBundles(): Promise<unknown> {
  built ??= execFileAsync(process.execPath, ['scripts/build.mjs']);
  return built;
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exit: Promise<number | string>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  alive(): boolean;
}

export interface ApiProcess extends ServiceProcess {
  readonly url: string;
}

function spawnService(name: string, entry: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--enable-source-maps', path.resolve(entry)], {
    env: testEnv({ LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  // A test run that is cut short must not leave a service running against servers that are gone.
  cleanupOnExit(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    name,
    child,
    exit,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Starts the API bundle with `env` on top of the test defaults; resolves once /ping answers. */
export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  await buildBundles();
  const port = await freePort();
  const service = spawnService('api', 'api/dist/main.js', { ...env, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (!service.alive()) throw new Error(`the API exited while starting:\n${service.output()}`);
    if (Date.now() > until) throw new Error(`the API did not answer /ping within 30 s:\n${service.output()}`);
    const up = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { ...service, url };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Starts the consumer bundle; resolves once it logs that it consumes (LOG_LEVEL info for that line). */
export async function startConsumer(env: Record<string, string>): Promise<ServiceProcess> {
  await buildBundles();
  const service = spawnService('consumer', 'consumer/dist/main.js', { LOG_LEVEL: 'info', ...env });
  const until = Date.now() + 30_000;
  while (!service.output().includes('consumer running')) {
    if (!service.alive()) throw new Error(`the consumer exited while starting:\n${service.output()}`);
    if (Date.now() > until) throw new Error(`the consumer did not start within 30 s:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return service;
}

/** SIGTERM, then the exit code; SIGKILL if it has not exited within `graceMs`. */
export async function stopService(
  service: ServiceProcess | undefined,
  graceMs = 15_000,
): Promise<number | string> {
  if (!service) return 'not started';
  if (service.alive()) service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), graceMs);
  try {
    return await service.exit;
  } finally {
    clearTimeout(timer);
  }
}

/** One JSON request to a running API, with the session's token if given; the body parsed, if any. */
export async function callApi<T = Record<string, string>>(
  api: { url: string },
  method: string,
  route: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await fetch(`${api.url}${route}`, {
    method,
    headers: {
      ...(token ? { Authorization: `session_id ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}
