/** What the bus suites share: a subscriber that records what it hears, waiting for it, open handles. */
import type { Bus } from '../../src/bus/index.ts';
import { sleep } from './real-services.ts';

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(5);
  }
}

/** One subscription and the messages it heard, in order. */
export interface Heard {
  readonly messages: string[];
  unsubscribe(): Promise<void>;
  /** Waits until `message` has arrived (so has everything published on the channel before it). */
  until(message: string, timeoutMs?: number): Promise<void>;
}

export async function listen(bus: Bus, channel: string): Promise<Heard> {
  const messages: string[] = [];
  const unsubscribe = await bus.subscribe(channel, (m) => messages.push(m));
  return {
    messages,
    unsubscribe,
    until: (message, timeoutMs) =>
      eventually(`"${message}" arrives on ${channel}`, () => messages.includes(message), timeoutMs),
  };
}

/** The socket and timer handles of the process, by kind: what a bus left open shows up here. */
export function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
