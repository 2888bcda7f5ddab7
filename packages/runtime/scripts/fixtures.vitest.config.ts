// Runs scripts/make-fixtures.ts through vitest (which resolves the workspace's TypeScript sources), without
// making it part of `vitest run`.
import { defineProject } from '@gptoss/vitest-config';

export default defineProject({ test: { include: ['scripts/make-fixtures.ts'], testTimeout: 1_800_000 } });
