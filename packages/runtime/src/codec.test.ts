import { expect, test } from 'vitest';
import { bf16ToF32, dequantizeMxfp4, f32ToBf16 as f32ToBf16Bulk } from '@gptoss/mxfp4';
import { bf16ToF32Array, dequantMxfp4, f32ToBf16 } from './codec.js';
import { Rng } from './rng.js';

test('the reference backend codecs agree with @gptoss/mxfp4', () => {
  const rng = new Rng(3);
  const blocks = new Uint8Array(16 * 40);
  rng.fillBytes(blocks);
  const scales = Uint8Array.from({ length: 40 }, (_, i) => 110 + (i % 30));
  expect(dequantMxfp4(blocks, scales)).toEqual(dequantizeMxfp4(blocks, scales));
  const f = new Float32Array(1000);
  rng.fillNormal(f, 0, 3);
  const bulk = f32ToBf16Bulk(f);
  expect(Uint16Array.from(f, (v) => f32ToBf16(v))).toEqual(bulk);
  expect(bf16ToF32Array(bulk)).toEqual(bf16ToF32(bulk));
});
