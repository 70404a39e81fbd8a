/**
 * Debian's Chromium driven by playwright-core, for tests that need a real browser (CORS, Swagger UI).
 *
 * Playwright cannot download a browser build on these machines, so it drives the apt package's
 * binary (.ci/run installs it when missing). Like a real-service suite, a browser suite is never
 * skipped silently: when Chromium is missing or does not start it is reported pending under a title
 * that says why, and with REQUIRE_REAL_SERVICES=1 (CI) it fails instead.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless, as root in a container (no sandbox), and quiet: nothing that reaches out on its own
 * (updates, sync, field trials, QUIC probes) so a test sees only the requests it makes.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Chromium with a fresh temporary profile (Playwright's default), deleted on close. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 20_000 });
}

export type BrowserAvailability =
  | { readonly state: 'available' }
  /** Not there or not starting: report the suite as skipped, saying why. */
  | { readonly state: 'skipped'; readonly reason: string }
  /** Not there or not starting while REQUIRE_REAL_SERVICES=1: the suite must fail with `message`. */
  | { readonly state: 'required'; readonly message: string };

/**
 * Whether Chromium is installed and starts: launched once and closed (about half a second), so a
 * browser that is present but broken is reported as clearly as a missing one.
 */
export async function chromiumAvailability(): Promise<BrowserAvailability> {
  let reason: string | undefined;
  if (!existsSync(CHROMIUM_PATH)) {
    reason = `no Chromium at ${CHROMIUM_PATH}: apt-get install chromium`;
  } else {
    try {
      await (await launchChromium()).close();
    } catch (err) {
      const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      reason = `Chromium at ${CHROMIUM_PATH} does not start: ${first}`;
    }
  }
  if (reason === undefined) return { state: 'available' };
  if (process.env.REQUIRE_REAL_SERVICES === '1') {
    return { state: 'required', message: `REQUIRE_REAL_SERVICES=1 but ${reason}` };
  }
  return { state: 'skipped', reason };
}

/**
 * Declares a browser suite: `body()` when Chromium is available, the same tests pending under a
 * title naming the reason when it is not, and one failing test when it is required but unusable.
 */
export function describeBrowser(label: string, availability: BrowserAvailability, body: () => void): void {
  if (availability.state === 'required') {
    describe(label, () => {
      it('has a Chromium that starts (REQUIRE_REAL_SERVICES=1)', () => {
        throw new Error(availability.message);
      });
    });
    return;
  }
  if (availability.state === 'skipped') {
    describe(`${label} (skipped: ${availability.reason})`, function () {
      before(function () {
        this.skip();
      });
      body();
    });
    return;
  }
  describe(label, body);
}
