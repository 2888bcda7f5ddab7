import { describe, expect, test } from 'vitest';
import { conformanceCases } from '../../backend/conformance.js';
import { webgpuBackend } from './webgpu-backend.js';

// CI has no GPU: this runs on SwiftShader when the test process can load it, i.e. when VK_ICD_FILENAMES and
// LD_LIBRARY_PATH point at Chromium's SwiftShader (packages/kernels-webgpu/vitest.config.ts shows how). Set
// GPTOSS_REQUIRE_WEBGPU=1 to turn a missing adapter into a failure.
const backend = webgpuBackend({ allowCpuAdapter: true });
const availability = await backend.available();
if (!availability.ok) console.warn(`webgpu backend skipped: ${availability.reason}`);

describe.skipIf(!availability.ok)('webgpu backend conformance (f32 path, tolerance 1e-3)', () => {
  for (const c of conformanceCases({ backend, loadOptions: { maxContext: 128, maxBatch: 4 } })) test(c.name, c.run, 120_000);
});

test('availability is reported', () => {
  if (process.env.GPTOSS_REQUIRE_WEBGPU === '1') expect(availability).toEqual(expect.objectContaining({ ok: true }));
  else expect(typeof availability.ok).toBe('boolean');
});

test('a CPU rasteriser is not offered for automatic selection by default', async () => {
  const plain = await webgpuBackend().available();
  if (availability.ok && /swiftshader/i.test(availability.detail ?? '')) expect(plain.ok).toBe(false);
});
