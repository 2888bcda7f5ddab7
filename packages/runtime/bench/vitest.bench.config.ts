// Benchmarks run through vitest so they use the workspace's TypeScript sources; each file is one measurement.
// Select one with a filter, e.g. `pnpm bench bench/reference-speed.ts`.
import { defineProject } from '@gptoss/vitest-config';

export default defineProject({ test: { include: ['bench/*.bench.ts'], testTimeout: 3_600_000, fileParallelism: false } });
