const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

/**
 * Store writes that must land although the request that needed them has been answered (the store
 * was frozen or down at the time): retried in the background, with backoff, until the store takes
 * them. While a write for a key is owed, `has(key)` tells this instance not to trust what the store
 * holds for that key, because it is what the write is meant to replace.
 */
export class OwedWrites {
  private readonly owed = new Map<string, () => Promise<unknown>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = FIRST_RETRY_MS;

  has(key: string): boolean {
    return this.owed.has(key);
  }

  get keys(): string[] {
    return [...this.owed.keys()];
  }

  /** Owes `write` for `key` (replacing one owed before) and schedules the retries. */
  owe(key: string, write: () => Promise<unknown>): void {
    this.owed.set(key, write);
    this.scheduleRetry();
  }

  /** A later write for the key landed: the owed one is no longer wanted. */
  forgive(key: string): void {
    this.owed.delete(key);
  }

  /** One last try at every owed write (on shutdown, before the store closes). */
  async flush(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.retryAll();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryAll().then(() => {
        if (this.owed.size === 0) {
          this.retryDelayMs = FIRST_RETRY_MS;
          return;
        }
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_MS);
        this.scheduleRetry();
      });
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  /** Tries the owed writes in turn; stops at the first the store refuses (it is still away). */
  private async retryAll(): Promise<void> {
    for (const [key, write] of [...this.owed]) {
      try {
        await write();
        // Unless a newer write was owed for the key meanwhile.
        if (this.owed.get(key) === write) this.owed.delete(key);
      } catch {
        return;
      }
    }
  }
}
