/**
 * A circuit breaker in its simplest useful form: after a dependency failed to answer, work that
 * needs it fails at once for `openMs` instead of queueing behind a server that does not answer;
 * after that window the next call tries again. `openMs` 0 turns it off.
 */
export class Breaker {
  private openUntil = 0;

  constructor(private readonly openMs: number) {}

  /** True while calls should not even try. */
  get open(): boolean {
    return Date.now() < this.openUntil;
  }

  /** The dependency just failed to answer. */
  trip(): void {
    if (this.openMs > 0) this.openUntil = Date.now() + this.openMs;
  }
}
