import { existsSync } from 'node:fs';
import { defineProject } from '@gptoss/vitest-config';

// Without a GPU the tests run on SwiftShader (Chromium's Vulkan CPU driver). Dawn dlopens libvulkan.so.1 and the
// loader reads VK_ICD_FILENAMES, so both must be in the environment when the test process starts: setting them here
// works because the `forks` pool starts its workers with this process's environment.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(swiftshader)) {
  process.env.VK_ICD_FILENAMES = swiftshader;
  process.env.LD_LIBRARY_PATH = ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';

// test/f16/ runs on an adapter with shader-f16 (vitest.f16.config.ts, scripts/test-f16.mjs): SwiftShader has none.
export default defineProject({ test: { fileParallelism: false, exclude: ['test/f16/**', '**/node_modules/**'] } });
