#!/usr/bin/env node
// Runs test/f16/ (and the router fold's tests) on Mesa's lavapipe, the CPU Vulkan driver that exposes shader-f16 to
// Dawn (Mesa 24 or later; Debian bookworm has it in bookworm-backports, which `npm test` installs). SwiftShader, the
// main suite's driver, has no shader-f16, so without this run the f16 fast path would be checked only on a real GPU.
// Without lavapipe the run is skipped with a note, except under CI, where it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = '/usr/share/vulkan/icd.d';
const icd = existsSync(dir) ? readdirSync(dir).find((f) => /^lvp_icd.*\.json$/.test(f)) : undefined;
if (!icd) {
  const msg = `[kernels-webgpu] f16 suite: lavapipe's Vulkan ICD (${dir}/lvp_icd*.json, Debian package mesa-vulkan-drivers >= 24) not found`;
  if (process.env.CI) {
    console.error(`${msg}; CI needs it (npm test installs it)`);
    process.exit(1);
  }
  console.log(`${msg}: skipped`);
  process.exit(0);
}
const env = { ...process.env, VK_ICD_FILENAMES: join(dir, icd), GPTOSS_REQUIRE_F16: '1' };
delete env.VK_DRIVER_FILES;
const r = spawnSync('vitest', ['run', '--config', 'vitest.f16.config.ts', 'test/f16/', 'test/router-fold.test.ts'], { stdio: 'inherit', env, shell: false });
if (r.error) throw r.error;
process.exit(r.status ?? 1);
