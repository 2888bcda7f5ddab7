import { defineProject } from '@gptoss/vitest-config';

// The f16 fast path (shader-f16: f16 MoE activations, the raw MXFP4 decode, the router fold's f16 pairs) on a CPU
// adapter that has shader-f16: Mesa's lavapipe. scripts/test-f16.mjs points VK_ICD_FILENAMES at it before starting
// vitest (the forks pool hands this environment to the workers). The router fold's tests run here too: they hold the
// f16 path to its 2e-2 tolerance.
process.env.XDG_RUNTIME_DIR ??= '/tmp';

// Which files run is given on the command line (scripts/test-f16.mjs): the preset's include list is merged, not replaced.
export default defineProject({ test: { fileParallelism: false, testTimeout: 180_000 } });
