import { defineProject } from '@gptoss/vitest-config';

// The webgpu backend skips Dawn's validation by default (speed); its tests keep it on so that a wrong command fails.
export default defineProject({ test: { env: { GPTOSS_WEBGPU_VALIDATE: process.env.GPTOSS_WEBGPU_VALIDATE ?? '1' } } });
