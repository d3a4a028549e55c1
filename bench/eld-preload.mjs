// Loaded with `node --import` into each Node process bench/compare measures (issue 19): an
// event-loop delay histogram (perf_hooks.monitorEventLoopDelay, sampled every 5 ms). On
// SIGUSR2 it writes its percentiles (ms, the 5 ms sampling interval taken off: what the
// timer was late by) to $SLUICE_BENCH_ELD_DIR/eld-<pid>.json and starts
// over, so the benchmark reads the delay over exactly the window it measured.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.SLUICE_BENCH_ELD_DIR;
if (dir) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const ms = (ns) => Math.round(Math.max(0, ns - 5e6) / 1e4) / 100;
  process.on('SIGUSR2', () => {
    const file = join(dir, `eld-${process.pid}.json`);
    const out = { count: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max) };
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
    h.reset();
  });
}
