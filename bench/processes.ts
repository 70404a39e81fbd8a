/**
 * The servers under load run as child processes of the bench, so the load generator (autocannon,
 * in the bench's own process) never shares an event loop with them, and their memory is their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventLoopDelay } from './report.ts';

/** Preloaded into every server: its event-loop delay, on request (bench/probes/event-loop.mjs). */
const LOOP_PROBE = fileURLToPath(new URL('./probes/event-loop.mjs', import.meta.url));

/** A port nothing listens on right now (the OS picks it; the child binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Server {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Starts a new event-loop delay window; answers a function that ends it with its figures. */
  loopDelay(): Promise<() => Promise<EventLoopDelay | null>>;
  /** The tail of what it printed (stdout and stderr). */
  output(): string;
  /** Lines it printed: with LOG_LEVEL=warn, each is a warning or an error worth a look. */
  lines(): number;
  stop(): Promise<void>;
}

const OUTPUT_TAIL = 32 * 1024;

/**
 * Spawns `node <args>` with `env` and waits until GET <url><readyPath> answers 200.
 * Fails with the child's output if it exits first or takes longer than `timeoutMs`.
 */
export async function startServer(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  { readyPath = '/', timeoutMs = 60_000 }: { readyPath?: string; timeoutMs?: number } = {},
): Promise<Server> {
  const loopFile = path.join(tmpdir(), `messenger-bench-loop-${process.pid}-${name}-${port}.json`);
  const child = spawn(process.execPath, ['--import', LOOP_PROBE, ...args], {
    env: { ...env, BENCH_LOOP_FILE: loopFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let loopSeq = 0;
  /** Asks the probe for its figures since the last ask (SIGUSR2) and waits for the file it writes. */
  const readLoop = async (): Promise<EventLoopDelay | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return null;
    const want = ++loopSeq;
    child.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      try {
        const report = JSON.parse(readFileSync(loopFile, 'utf8')) as EventLoopDelay & { seq: number };
        if (report.seq === want) return { p50Ms: report.p50Ms, p99Ms: report.p99Ms, maxMs: report.maxMs };
      } catch {
        // not written yet
      }
      await sleep(20);
    }
    return null;
  };
  let out = '';
  let lines = 0;
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString();
    lines += text.split('\n').length - 1;
    out = (out + text).slice(-OUTPUT_TAIL);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: Server = {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    output: () => out,
    lines: () => lines,
    loopDelay: async () => {
      await readLoop();
      return readLoop;
    },
    stop: async () => {
      await stopChild(child, exited);
      rmSync(loopFile, { force: true });
    },
  };

  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before it answered (${child.exitCode ?? child.signalCode}):\n${out}`);
    }
    if (Date.now() - started > timeoutMs) {
      await server.stop();
      throw new Error(`${name} did not answer ${readyPath} within ${timeoutMs / 1000} s:\n${out}`);
    }
    try {
      const res = await fetch(`${server.url}${readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

/** SIGTERM (the servers shut down gracefully), then SIGKILL if it is still there after 15 s. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Peak resident memory of one process over a window. Linux keeps the peak (VmHWM) since start-up;
 * writing 5 to /proc/<pid>/clear_refs resets it, so after a reset VmHWM is the window's exact peak.
 * Where that is not allowed, VmRSS sampled every 100 ms stands in (it can miss a short spike).
 * Answers null where there is no /proc (not Linux).
 */
export class PeakRss {
  private maxKb = 0;
  private exact = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      this.exact = true;
    } catch {
      this.exact = false;
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** Stops sampling; the peak in MiB, and how it was measured. */
  stop(): { mib: number; method: 'VmHWM' | 'VmRSS sampled' } | null {
    clearInterval(this.timer);
    this.sample();
    if (this.maxKb === 0) return null;
    return { mib: this.maxKb / 1024, method: this.exact ? 'VmHWM' : 'VmRSS sampled' };
  }

  private sample(): void {
    let status: string;
    try {
      status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return;
    }
    for (const field of this.exact ? ['VmHWM', 'VmRSS'] : ['VmRSS']) {
      const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      this.maxKb = Math.max(this.maxKb, kb);
    }
  }
}

/** Resident memory of a process now (VmRSS, KiB); 0 where there is no /proc (not Linux). */
export function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * CPU time a process has used so far (user + system, ms), from /proc/<pid>/stat; null where there is
 * no /proc. On a shared machine the CPU a server spends per request moves far less with other work
 * than its requests per second do: it is the figure to compare two builds by.
 */
export function cpuMs(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The fields after the command name (which may hold spaces, inside parentheses): utime is the
  // 14th field of the line, stime the 15th, in clock ticks (100 a second on Linux).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : null;
}
