// Bit-exact agreement with the gpt-oss PyTorch dequantizer (fixture made by
// scripts/make-reference-fixture.py from openai/gpt-oss gpt_oss/torch/weights.py).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { dequantizeMxfp4, dequantizeMxfp4ToBf16 } from '../src/index.js';

const dir = join(import.meta.dirname, 'fixtures', 'reference');
const load = (n: string): Uint8Array => new Uint8Array(readFileSync(join(dir, n)));
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { sha256: Record<string, string>; output_shape: number[] };

describe('reference dequantizer fixture', () => {
  test('fixture files are intact', () => {
    for (const [name, sha] of Object.entries(meta.sha256)) {
      expect(createHash('sha256').update(load(name)).digest('hex')).toBe(sha);
    }
  });

  const blocks = load('blocks.bin');
  const scales = load('scales.bin');

  test('covers every nibble with every scale 0..254', () => {
    const seen = new Set<number>();
    for (let g = 0; g < scales.length; g++) {
      for (let j = 0; j < 16; j++) {
        const b = blocks[g * 16 + j];
        seen.add((scales[g] << 4) | (b & 15));
        seen.add((scales[g] << 4) | (b >> 4));
      }
    }
    for (let s = 0; s < 255; s++) for (let n = 0; n < 16; n++) expect(seen.has((s << 4) | n)).toBe(true);
  });

  test('f32 output is bit-identical to the reference', () => {
    const want = new Uint32Array(load('expected-f32.bin').buffer);
    const got = new Uint32Array(dequantizeMxfp4(blocks, scales).buffer);
    expect(got.length).toBe(meta.output_shape[0] * meta.output_shape[1]);
    const bad = [...got.keys()].filter((i) => got[i] !== want[i]);
    expect(bad.slice(0, 5).map((i) => [i, got[i].toString(16), want[i].toString(16)])).toEqual([]);
  });

  test('bf16 output is bit-identical to the reference', () => {
    const want = new Uint16Array(load('expected-bf16.bin').buffer);
    const got = dequantizeMxfp4ToBf16(blocks, scales);
    const bad = [...got.keys()].filter((i) => got[i] !== want[i]);
    expect(bad.slice(0, 5).map((i) => [i, got[i].toString(16), want[i].toString(16)])).toEqual([]);
  });
});
