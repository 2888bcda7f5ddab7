// Opening a full-size checkpoint: time, and how much memory it takes (headers only; no weights are read).
// GPTOSS_BENCH_DIR (default /work/bigmodels/gpt-oss-20b; create it with bench/create-checkpoint.bench.ts).
import { test } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/open-checkpoint.js';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

test('open full-size checkpoint', async () => {
  const dir = process.env.GPTOSS_BENCH_DIR ?? '/work/bigmodels/gpt-oss-20b';
  globalThis.gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const ck = await openCheckpoint(dir);
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  const t1 = performance.now();
  const one = await ck.weights.tensor('block.0.mlp.mlp1_weight.blocks').readRange(0, 1 << 20);
  const readMs = performance.now() - t1;
  process.stderr.write(
    `RESULT openCheckpoint ${dir}: ${ck.weights.names.length} tensors, ${(ck.byteLength / 1e9).toFixed(2)} GB validated in ${ms.toFixed(0)} ms; ` +
      `heapUsed +${mib(after.heapUsed - before.heapUsed)}, arrayBuffers +${mib(after.arrayBuffers - before.arrayBuffers)}, ` +
      `rss ${mib(after.rss)} (before ${mib(before.rss)}); first 1 MiB of an expert tensor read in ${readMs.toFixed(1)} ms (${one.length} B)\n`,
  );
  await ck.close();
});
