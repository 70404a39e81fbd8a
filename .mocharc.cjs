// Mocha configuration. A .cjs file rather than JSON so that forbidOnly can follow the environment:
// on CI (CI set, as .ci/run does) a forgotten `it.only` / `describe.only` fails the run instead of
// silently skipping every other test.
const ci = process.env.CI;

module.exports = {
  'node-option': ['import=tsx'],
  extension: ['ts'],
  spec: ['shared/test/**/*.test.ts', 'api/test/**/*.test.ts', 'consumer/test/**/*.test.ts'],
  require: ['test/support/setup.ts'],
  reporter: './test/support/summary-reporter.cjs',
  timeout: 20000,
  exit: true,
  recursive: true,
  forbidOnly: ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0',
};
