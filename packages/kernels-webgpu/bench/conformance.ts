/**
 * The runtime's backend conformance suite against the `webgpu` backend, for the device machine (fast path on a real
 * GPU). Bundled by bench/bundle.mjs; run from the repository root so that the committed fixtures are found:
 *   node .device/conformance.mjs
 * This file imports the runtime's sources directly: it is a bench entry, not part of the package.
 */
import { conformanceCases } from '../../runtime/src/backend/conformance.js';
import { webgpuBackend } from '../../runtime/src/backends/webgpu/webgpu-backend.js';

// The backend imports @gptoss/kernels-webgpu lazily by name; point it at the bundled copy next to this file.
process.env.GPTOSS_KERNELS_WEBGPU_MODULE ??= new URL('./kernels-webgpu.mjs', import.meta.url).href;
const backend = webgpuBackend({
  portable: process.argv.includes('--portable'),
  f16: !process.argv.includes('--no-f16'),
  allowCpuAdapter: true,
});
const tolArg = process.argv.indexOf('--tol');
const tolerance = tolArg > 0 ? Number(process.argv[tolArg + 1]) : 1e-3;
const a = await backend.available();
console.log(`webgpu backend: ${a.ok ? a.detail : a.reason}`);
let failed = 0;
let passed = 0;
for (const c of conformanceCases({
  backend,
  tolerance,
  fixturesDir: 'packages/runtime/test/fixtures/reference',
  loadOptions: { maxContext: 128, maxBatch: 4 },
})) {
  try {
    await c.run();
    passed++;
    console.log(`ok   ${c.name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${c.name}: ${(e as Error).message}`);
  }
}
console.log(`conformance (tol ${tolerance}): ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
