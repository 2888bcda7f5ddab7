import { describe, expect, test } from 'vitest';
import { Mxfp4CodecError } from './errors.js';
import { bf16ToF32 } from './float-convert.js';
import { FP4_E2M1_VALUES, dequantizeMxfp4, dequantizeMxfp4ToBf16 } from './mxfp4.js';

describe('FP4 table', () => {
  test('matches SPEC §2.2', () => {
    expect([...FP4_E2M1_VALUES]).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect(Object.is(FP4_E2M1_VALUES[8], -0)).toBe(true);
  });
});

describe('dequantizeMxfp4', () => {
  test('low nibble first, scale bias 127', () => {
    const blocks = new Uint8Array(16);
    blocks[0] = 0x71; // lo=1 (0.5), hi=7 (6)
    blocks[15] = 0xf9; // lo=9 (-0.5), hi=15 (-6)
    const out = dequantizeMxfp4(blocks, new Uint8Array([128]));
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(12);
    expect(out[30]).toBe(-1);
    expect(out[31]).toBe(-12);
    expect(out.length).toBe(32);
  });

  test('every nibble and scale against the formula, f32 and bf16 agree', () => {
    const groups = 256 * 8;
    const blocks = new Uint8Array(groups * 16);
    const scales = new Uint8Array(groups);
    for (let g = 0; g < groups; g++) {
      scales[g] = g & 0xff;
      for (let j = 0; j < 16; j++) blocks[g * 16 + j] = (g * 16 + j * 17) & 0xff;
    }
    const f = dequantizeMxfp4(blocks, scales);
    const b = bf16ToF32(dequantizeMxfp4ToBf16(blocks, scales));
    for (let g = 0; g < groups; g++) {
      for (let m = 0; m < 32; m++) {
        const byte = blocks[g * 16 + (m >> 1)];
        const nib = m & 1 ? byte >> 4 : byte & 15;
        const s = scales[g];
        const want = s === 255 ? NaN : Math.fround(FP4_E2M1_VALUES[nib] * 2 ** (s - 127));
        const got = f[g * 32 + m];
        if (!Object.is(got, want)) expect([g, m, got]).toEqual([g, m, want]);
        if (!Object.is(b[g * 32 + m], want)) expect([g, m, 'bf16', b[g * 32 + m]]).toEqual([g, m, 'bf16', want]);
      }
    }
  });

  test('unaligned bf16 output takes the scalar path with the same result', () => {
    const blocks = new Uint8Array(64).map((_, i) => (i * 37) & 255);
    const scales = new Uint8Array([120, 127, 130, 254]);
    const aligned = dequantizeMxfp4ToBf16(blocks, scales);
    const buf = new Uint16Array(129);
    const un = buf.subarray(1);
    dequantizeMxfp4ToBf16(blocks, scales, un);
    expect([...un]).toEqual([...aligned]);
  });

  test('unaligned block input takes the byte-wise path with the same result', () => {
    const groups = 300;
    const buf = new Uint8Array(groups * 16 + 1);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 7) & 255;
    const un = buf.subarray(1);
    const copy = un.slice();
    const scales = new Uint8Array(groups).map((_, g) => g % 256);
    expect(un.byteOffset % 4).toBe(1);
    const a = dequantizeMxfp4(un, scales);
    const b = dequantizeMxfp4(copy, scales);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const c = dequantizeMxfp4ToBf16(un, scales);
    const d = dequantizeMxfp4ToBf16(copy, scales);
    expect([...c]).toEqual([...d]);
  });

  test('shape mismatch is a typed error', () => {
    expect(() => dequantizeMxfp4(new Uint8Array(15), new Uint8Array(1))).toThrow(Mxfp4CodecError);
    expect(() => dequantizeMxfp4(new Uint8Array(16), new Uint8Array(1), new Float32Array(31))).toThrow(/out holds/);
    expect(() => dequantizeMxfp4ToBf16(new Uint8Array(32), new Uint8Array(1))).toThrow(/16 bytes per scale/);
  });
});
