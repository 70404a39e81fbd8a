// Preloaded into each server the bench starts (`node --import ./bench/probes/event-loop.mjs …`), so
// the API itself carries nothing for the bench: it samples the event loop's delay with
// monitorEventLoopDelay, and on SIGUSR2 writes the percentiles since the last SIGUSR2 to
// BENCH_LOOP_FILE (one JSON object, with a sequence number) and starts over.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_FILE;
if (file) {
  // The histogram records each interval of its 5 ms timer: the delay is what exceeds the 5 ms.
  const RESOLUTION_MS = 5;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    const report = {
      seq: ++seq,
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
    };
    histogram.reset();
    writeFileSync(file, JSON.stringify(report));
  });
}
