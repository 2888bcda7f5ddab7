import type { UserWorkspaceConfig } from 'vitest/config';

/** Vitest project preset for gptoss packages; `overrides` are deep-merged over the defaults. */
export declare function defineProject(overrides?: UserWorkspaceConfig): UserWorkspaceConfig;
