import argon2 from 'argon2';
import { AppError } from '@messenger/shared';

/**
 * argon2id's cost, chosen on purpose: OWASP's password storage guidance (m = 19 MiB, t = 2, p = 1)
 * rather than the library's defaults (64 MiB, t = 3, p = 4), which held 64 MiB and four libuv
 * threads per login: 7.9 logins/s and 319 MiB RSS under 32 concurrent logins on 2 cores.
 */
export interface PasswordHashSettings {
  /** memory per hash, KiB (PASSWORD_HASH_MEMORY_KIB) */
  readonly memoryKiB: number;
  /** passes over the memory (PASSWORD_HASH_TIME_COST) */
  readonly timeCost: number;
  /** lanes, each a libuv thread while it runs (PASSWORD_HASH_PARALLELISM) */
  readonly parallelism: number;
  /** hashes computed at once; each holds `memoryKiB` (PASSWORD_HASH_CONCURRENCY) */
  readonly concurrency: number;
  /** hashes waiting for a slot; one more is refused with 503 (PASSWORD_HASH_QUEUE) */
  readonly queue: number;
}

export const OWASP_ARGON2ID = { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

/** What a verification found: whether it matched, and whether the hash is of older parameters. */
export interface Verified {
  readonly ok: boolean;
  /** The hash was made with other parameters than today's: rehash the password now that it is known. */
  readonly stale: boolean;
}

/**
 * Hashes and verifies passwords with a bound on how many run at once, so a login storm costs at
 * most `concurrency × memoryKiB` of memory and a queue of `queue` waiting requests; beyond that a
 * request is refused at once with 503 `service-unavailable` (and `Retry-After`) instead of piling
 * up until every login times out.
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly options: argon2.HashOptions & { raw?: false };

  constructor(readonly settings: PasswordHashSettings) {
    this.options = {
      type: argon2.argon2id,
      memoryCost: settings.memoryKiB,
      timeCost: settings.timeCost,
      parallelism: settings.parallelism,
    };
  }

  hash(password: string): Promise<string> {
    return this.slot(() => argon2.hash(password, this.options));
  }

  async verify(hash: string, password: string): Promise<Verified> {
    const ok = await this.slot(() => argon2.verify(hash, password));
    return { ok, stale: ok && this.isStale(hash) };
  }

  /** Made with other parameters than today's (or not argon2id at all). */
  isStale(hash: string): boolean {
    if (!hash.startsWith('$argon2id$')) return true;
    try {
      return argon2.needsRehash(hash, {
        memoryCost: this.settings.memoryKiB,
        timeCost: this.settings.timeCost,
        parallelism: this.settings.parallelism,
      });
    } catch {
      return true;
    }
  }

  /** Hashes running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.settings.concurrency) {
      if (this.waiting.length >= this.settings.queue) {
        throw new AppError('service-unavailable', 'too many logins at once: try again in a moment', {
          retryAfterSeconds: 1,
        });
      }
      // The slot is handed over by the finishing hash (running stays counted), so none can jump the queue.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
