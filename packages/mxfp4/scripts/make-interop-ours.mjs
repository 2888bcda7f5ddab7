// Writes the safetensors files that the Python `safetensors` package must load (interop check, our →
// theirs). Run after `pnpm tsup`: node scripts/make-interop-ours.mjs. Output: test/fixtures/interop/ours/
// with expected.json (every tensor's dtype, shape and bytes as hex) for scripts/interop-check.py.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { f32ToBf16, f32ToF16, quantizeMxfp4, saveSafetensors } from '../dist/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'interop', 'ours');
mkdirSync(out, { recursive: true });

const u8 = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const specials = new Float32Array([0, -0, 1, -1.5, Infinity, -Infinity, NaN, 3.4028234663852886e38, 1e-45, 65504, 1e-8, 0.1]);
const q = quantizeMxfp4(new Float32Array(4 * 64).map((_, i) => Math.sin(i) * (1 + (i % 7))));

const files = {
  'basic.safetensors': {
    metadata: { format: 'pt', producer: '@gptoss/mxfp4', note: 'unicode ✓' },
    tensors: [
      { name: 'f32', dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2.5, -3, 4e-3, 5e10, -6]) },
      { name: 'bf16', dtype: 'BF16', shape: [4], data: f32ToBf16(new Float32Array([1, -2, 0.1, 3e38])) },
      { name: 'f16', dtype: 'F16', shape: [3], data: f32ToF16(new Float32Array([1, -0.5, 65504])) },
      { name: 'f64', dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
      { name: 'u8', dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 127, 128, 255]) },
      { name: 'i8', dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      { name: 'i16', dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
      { name: 'i32', dtype: 'I32', shape: [2, 1], data: new Int32Array([-2147483648, 2147483647]) },
      { name: 'i64', dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
      { name: 'bool', dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
      { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) },
      { name: 'a.b.c/odd name', dtype: 'I32', shape: [1], data: new Int32Array([7]) },
    ],
  },
  'empty.safetensors': {
    metadata: {},
    tensors: [
      { name: 'empty_f32', dtype: 'F32', shape: [0], data: new Uint8Array(0) },
      { name: 'empty_2d', dtype: 'I64', shape: [3, 0], data: new Uint8Array(0) },
      { name: 'one', dtype: 'U8', shape: [1, 1, 1], data: new Uint8Array([9]) },
    ],
  },
  'no-tensors.safetensors': { metadata: { only: 'metadata' }, tensors: [] },
  'specials.safetensors': {
    metadata: {},
    tensors: [
      { name: 'f32', dtype: 'F32', shape: [12], data: specials },
      { name: 'bf16', dtype: 'BF16', shape: [12], data: f32ToBf16(specials) },
      { name: 'f16', dtype: 'F16', shape: [12], data: f32ToF16(specials) },
    ],
  },
  'mxfp4.safetensors': {
    metadata: { format: 'pt' },
    tensors: [
      { name: 'block.0.mlp.mlp1_weight.blocks', dtype: 'U8', shape: [4, 2, 16], data: q.blocks },
      { name: 'block.0.mlp.mlp1_weight.scales', dtype: 'U8', shape: [4, 2], data: q.scales },
      { name: 'block.0.mlp.mlp1_bias', dtype: 'BF16', shape: [4], data: f32ToBf16(new Float32Array([0.5, -0.25, 1, 2])) },
    ],
  },
  // Torch ≥ 2.1 knows the FP8 types; kept apart so an older torch only skips this file.
  'f8.safetensors': {
    metadata: {},
    tensors: [
      { name: 'e4m3', dtype: 'F8_E4M3', shape: [4], data: new Uint8Array([0x00, 0x38, 0xb8, 0x7e]) },
      { name: 'e5m2', dtype: 'F8_E5M2', shape: [4], data: new Uint8Array([0x00, 0x3c, 0xbc, 0x7b]) },
    ],
  },
};

const expected = {};
for (const [file, { metadata, tensors }] of Object.entries(files)) {
  await saveSafetensors(join(out, file), tensors, metadata);
  const bytes = readFileSync(join(out, file));
  expected[file] = {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    metadata,
    tensors: Object.fromEntries(
      tensors.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, hex: Buffer.from(u8(t.data)).toString('hex') }]),
    ),
  };
}
writeFileSync(join(out, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
console.log(`wrote ${Object.keys(files).length} files to ${out}`);
