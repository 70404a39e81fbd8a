/**
 * Where the real-service suites (PostgreSQL, Redis) find their server, and what happens without one.
 *
 * A suite is never skipped silently: without its variable it is reported as pending under a title
 * that says which variable to set, and with REQUIRE_REAL_SERVICES=1 (CI) it fails instead.
 */
import { randomBytes } from 'node:crypto';

export type RealService =
  /** The variable is set: run against this URL. */
  | { readonly state: 'available'; readonly url: string }
  /** Unset: report the suite as skipped, naming the variable to set. */
  | { readonly state: 'skipped'; readonly variable: string }
  /** Unset while REQUIRE_REAL_SERVICES=1: the suite must fail with `message`. */
  | { readonly state: 'required'; readonly message: string };

export function realService(label: string, variable: string, example: string): RealService {
  const url = process.env[variable];
  if (url !== undefined && url !== '') return { state: 'available', url };
  if (process.env.REQUIRE_REAL_SERVICES === '1') {
    return {
      state: 'required',
      message: `REQUIRE_REAL_SERVICES=1 but ${variable} is not set: point it at a ${label} server (e.g. ${variable}=${example})`,
    };
  }
  return { state: 'skipped', variable };
}

/**
 * Declares the suite of one real service: `body(url)` when it is available, a pending suite of the
 * same tests when it is not configured, and one failing test when it is required but missing.
 */
export function describeRealService(
  label: string,
  service: RealService,
  body: (url: string | undefined) => void,
): void {
  if (service.state === 'required') {
    describe(label, () => {
      it(`is configured (REQUIRE_REAL_SERVICES=1)`, () => {
        throw new Error(service.message);
      });
    });
    return;
  }
  if (service.state === 'skipped') {
    describe(`${label} (skipped: set ${service.variable})`, function () {
      before(function () {
        this.skip();
      });
      body(undefined);
    });
    return;
  }
  describe(label, () => body(service.url));
}

/** A short random tag for names that must not collide with a parallel run. */
export function uniqueTag(): string {
  return randomBytes(5).toString('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` and answers its rejection; fails when it resolves. */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection, but it resolved');
}
