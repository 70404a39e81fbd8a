'use strict';

// Mocha's Spec reporter plus one closing line CI can read: "N passed, N failed, N skipped".
// Failures include hook failures (mocha reports a failing hook as a test failure).
// Loaded by mocha through require(); mocha 12 is ESM, which Node >= 20.19 can require.

const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  static description = 'spec, then a closing line "N passed, N failed, N skipped"';

  constructor(runner, options) {
    super(runner, options);

    let passed = 0;
    let failed = 0;
    let skipped = 0;

    runner.on(EVENT_TEST_PASS, () => {
      passed += 1;
    });
    runner.on(EVENT_TEST_FAIL, () => {
      failed += 1;
    });
    runner.on(EVENT_TEST_PENDING, () => {
      skipped += 1;
    });

    // Registered after Spec's own listener, so it prints after the epilogue.
    runner.once(EVENT_RUN_END, () => {
      process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;
