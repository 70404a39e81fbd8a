// `npm run lint` / `make lint`: runs every lint step even when an earlier one fails, so one run shows
// every problem (a typecheck error no longer hides an ESLint or formatting one), prints each step's
// result, and exits non-zero at the end if any step failed.
import { spawnSync } from 'node:child_process';

/** The package.json scripts that make up `lint`, in the order they run. */
const STEPS = ['lint:spec', 'typecheck', 'lint:ts', 'format:check', 'check:generated'];

const results = [];
for (const step of STEPS) {
  console.log(`\n---------- ${step} ----------`);
  const started = Date.now();
  const { status, error } = spawnSync('npm', ['run', '--silent', step], { stdio: 'inherit' });
  if (error) console.error(`${step}: ${error.message}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ step, ok: status === 0, seconds });
}

console.log('\n---------- lint summary ----------');
for (const { step, ok, seconds } of results) {
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${step} (${seconds} s)`);
}
const failed = results.filter((r) => !r.ok).map((r) => r.step);
if (failed.length > 0) {
  console.error(`lint failed: ${failed.join(', ')}`);
  process.exit(1);
}
console.log('lint passed');
