// Tests run against `src/` of every workspace package through the `@gptoss/source` export
// condition, so a change in one package is seen by its dependents without a rebuild.
import { defineProject as define, mergeConfig } from 'vitest/config';

const conditions = ['@gptoss/source', 'module', 'node', 'import', 'default'];

/** @param {import('vitest/config').UserWorkspaceConfig} [overrides] */
export function defineProject(overrides = {}) {
  return mergeConfig(
    define({
      resolve: { conditions },
      ssr: { resolve: { conditions, externalConditions: ['@gptoss/source'] } },
      test: {
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 120_000,
        pool: 'forks',
      },
    }),
    overrides,
  );
}
