/**
 * Small process helpers for the fault tests: the process tree of a server (to freeze all of it),
 * signals that tolerate processes already gone, and clean-up that runs even when a test fails or
 * mocha exits early.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** `pid` and all its descendants, read from /proc (parents before children). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const tree: number[] = [];
  const walk = (p: number): void => {
    tree.push(p);
    for (const child of children.get(p) ?? []) walk(child);
  };
  walk(pid);
  return tree;
}

/** Sends `signal` to each pid; one that has exited already is not an error. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const cleanups: Array<() => void> = [];
let hooked = false;

function runCleanups(): void {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the rest still run
    }
  }
}

/**
 * Runs `fn` (synchronously) when the test process exits, however it exits: a private server is
 * never left running or frozen, even when an `after` hook never ran. A SIGTERM or SIGHUP (a CI
 * timeout, a closed terminal) would end the process without 'exit' handlers, so those run the
 * clean-ups and then let the signal do what it would have done.
 */
export function cleanupOnExit(fn: () => void): void {
  cleanups.push(fn);
  if (hooked) return;
  hooked = true;
  process.on('exit', runCleanups);
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runCleanups();
      process.kill(process.pid, signal);
    });
  }
}
