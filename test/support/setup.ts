/**
 * Root hooks of the one mocha run: say which backends this run tests against, and close the
 * shared ones at the end.
 */
import { closeSharedBackends, describeBackends } from '../../api/test/support/backends.ts';

export const mochaHooks = {
  beforeAll(): void {
    console.log(`\nbackends under test: ${describeBackends()}`);
    const real = ['TEST_POSTGRES_URL', 'TEST_REDIS_URL', 'TEST_AMQP_URL'].filter((v) => process.env[v]);
    console.log(
      `real services for conformance suites: ${real.length > 0 ? real.join(', ') : 'none (skipped)'}\n`,
    );
  },
  async afterAll(): Promise<void> {
    await closeSharedBackends();
  },
};
