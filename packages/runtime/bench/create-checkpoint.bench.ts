// createCheckpoint at full size: wall time, throughput and the worker's peak RSS.
// GPTOSS_BENCH_PRESET (default gpt-oss-20b), GPTOSS_BENCH_DIR (default /work/bigmodels/<preset>).
import { test } from 'vitest';
import { createCheckpoint } from '../src/checkpoint/create-checkpoint.js';
import type { PresetName } from '../src/config.js';

test('createCheckpoint full size', async () => {
  const preset = (process.env.GPTOSS_BENCH_PRESET ?? 'gpt-oss-20b') as PresetName;
  const dir = process.env.GPTOSS_BENCH_DIR ?? `/work/bigmodels/${preset}`;
  const layout = (process.env.GPTOSS_BENCH_LAYOUT ?? 'original') as 'original' | 'hf';
  const t0 = performance.now();
  let last = 0;
  const r = await createCheckpoint({
    dir,
    preset,
    seed: 0,
    layout,
    onProgress: (p) => {
      const pct = Math.floor((100 * p.writtenBytes) / p.totalBytes);
      if (pct >= last + 10) {
        last = pct;
        process.stderr.write(`${pct}% ${((performance.now() - t0) / 1000).toFixed(1)}s rss=${(process.memoryUsage().rss / 2 ** 20).toFixed(0)}MiB\n`);
      }
    },
  });
  const s = (performance.now() - t0) / 1000;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stderr.write(
    `RESULT createCheckpoint preset=${preset} layout=${layout} dir=${dir} bytes=${r.byteLength} ` +
      `(${(r.byteLength / 1e9).toFixed(2)} GB) time=${s.toFixed(1)}s throughput=${(r.byteLength / 1e6 / s).toFixed(0)} MB/s ` +
      `peakRSS(worker)=${maxRssMiB.toFixed(0)} MiB\n`,
  );
});
