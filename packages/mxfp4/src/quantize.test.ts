import { describe, expect, test } from 'vitest';
import { rng } from '../test/helpers.js';
import { Mxfp4CodecError } from './errors.js';
import { f32ToBf16 } from './float-convert.js';
import { FP4_E2M1_VALUES, dequantizeMxfp4 } from './mxfp4.js';
import { quantizeMxfp4, quantizeMxfp4FromBf16 } from './quantize.js';

// Brute-force reference of OCP MX v1.0 §6.3 for one block: scale from the max exponent, then the
// nearest E2M1 value with ties to the even code, saturating at ±6.
function refBlock(v: Float32Array): { scale: number; codes: number[] } {
  let amax = 0;
  for (const x of v) {
    if (Number.isNaN(x) || !Number.isFinite(x)) return { scale: 255, codes: new Array(32).fill(0) };
    amax = Math.max(amax, Math.abs(x));
  }
  let e = -127;
  if (amax > 0) {
    e = Math.floor(Math.log2(amax));
    if (2 ** e > amax) e--;
    if (2 ** (e + 1) <= amax) e++;
  }
  const X = Math.min(Math.max(e - 2, -127), 127);
  const codes = [...v].map((x) => {
    const a = Math.min(Math.abs(x) / 2 ** X, 6);
    let best = 0;
    for (let c = 1; c < 8; c++) {
      const d = Math.abs(FP4_E2M1_VALUES[c] - a);
      const bd = Math.abs(FP4_E2M1_VALUES[best] - a);
      if (d < bd || (d === bd && c % 2 === 0)) best = c;
    }
    const neg = x < 0 || Object.is(x, -0);
    return best | (neg ? 8 : 0);
  });
  return { scale: X + 127, codes };
}

function codesOf(blocks: Uint8Array, g: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < 16; j++) out.push(blocks[g * 16 + j] & 15, blocks[g * 16 + j] >> 4);
  return out;
}

function check(values: Float32Array): void {
  const { blocks, scales } = quantizeMxfp4(values);
  for (let g = 0; g < values.length / 32; g++) {
    const ref = refBlock(values.subarray(g * 32, g * 32 + 32));
    if (scales[g] !== ref.scale || codesOf(blocks, g).join() !== ref.codes.join()) {
      expect({ g, scale: scales[g], codes: codesOf(blocks, g), values: [...values.subarray(g * 32, g * 32 + 32)] }).toEqual({
        g,
        scale: ref.scale,
        codes: ref.codes,
        values: [...values.subarray(g * 32, g * 32 + 32)],
      });
    }
  }
}

describe('quantizeMxfp4', () => {
  test('matches a brute-force OCP reference on random blocks across magnitudes', () => {
    const r = rng(1);
    const v = new Float32Array(32 * 4000);
    for (let g = 0; g < 4000; g++) {
      const e = Math.floor(r() * 260) - 140;
      for (let i = 0; i < 32; i++) v[g * 32 + i] = (r() - 0.5) * 2 ** (e + Math.floor(r() * 6));
    }
    check(v);
  });

  test('exact grid points and every rounding tie', () => {
    // Scale pinned by a 4 in element 0 (X = 0); other elements walk the grid and its midpoints.
    const pts = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 7.99, 0.2499, 0.2501, 4.999, 5.001];
    const v = new Float32Array(32 * pts.length * 2);
    pts.forEach((p, k) => {
      for (const sgn of [1, -1]) {
        const g = 2 * k + (sgn < 0 ? 1 : 0);
        v[g * 32] = 4;
        for (let i = 1; i < 32; i++) v[g * 32 + i] = sgn * p;
      }
    });
    check(v);
    const { blocks, scales } = quantizeMxfp4(v);
    expect(scales[0]).toBe(127);
    const d = dequantizeMxfp4(blocks, scales);
    // ties: 0.25→0, 0.75→1, 1.25→1, 1.75→2, 2.5→2, 3.5→4, 5→4; saturation 7→6
    const at = (p: number): number => d[2 * pts.indexOf(p) * 32 + 1];
    expect([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 7, 7.99].map(at)).toEqual([0, 1, 1, 2, 2, 4, 4, 6, 6]);
  });

  test('zeros, signed zeros, denormals, huge values, NaN and Inf', () => {
    const v = new Float32Array(32 * 8);
    // block 0: all +0 → scale 0, codes 0
    // block 1: -0 everywhere → code 8
    v.fill(-0, 32, 64);
    // block 2: f32 denormals → scale clamps to 0 (X = −127), values round to 0 or 0.5·2^−127
    for (let i = 0; i < 32; i++) v[64 + i] = i * 1e-45 * (i % 2 ? -1 : 1);
    v[64 + 31] = 2 ** -127;
    // block 3: near the f32 maximum
    for (let i = 0; i < 32; i++) v[96 + i] = 3.4e38 * (i / 31) * (i % 2 ? -1 : 1);
    // block 4: one NaN
    v[128 + 5] = NaN;
    v[128 + 6] = 1;
    // block 5: +Inf, block 6: -Inf
    v[160] = Infinity;
    v[192 + 3] = -Infinity;
    // block 7: tiny normal values mixed with a large one (small ones flush to zero)
    v[224] = 1000;
    v[225] = 1e-3;
    check(v);
    const { blocks, scales } = quantizeMxfp4(v);
    expect(scales[0]).toBe(0);
    expect(codesOf(blocks, 1)).toEqual(new Array(32).fill(8));
    expect(scales[2]).toBe(0);
    expect(scales[3]).toBe(252);
    expect([scales[4], scales[5], scales[6]]).toEqual([255, 255, 255]);
    const d = dequantizeMxfp4(blocks, scales);
    expect(d.subarray(128, 224).every(Number.isNaN)).toBe(true);
    expect(d[64 + 31]).toBe(2 ** -127);
    expect(d[97]).toBeLessThan(0);
    expect(Number.isFinite(d[127])).toBe(true);
    expect(d[225]).toBe(0);
  });

  test('random f32 bit patterns (NaN payloads, denormals, Inf, any exponent) match the reference', () => {
    const r = rng(99);
    const u = new Uint32Array(32 * 3000);
    for (let g = 0; g < 3000; g++) {
      // Mostly one exponent neighbourhood per block, so in-block rounding is exercised, plus wild bits.
      const e = Math.floor(r() * 256);
      for (let i = 0; i < 32; i++) {
        const wild = r() < 0.02;
        const exp = wild ? Math.floor(r() * 256) : Math.max(0, Math.min(254, e - Math.floor(r() * 6)));
        u[g * 32 + i] = ((r() < 0.5 ? 0x80000000 : 0) | (exp << 23) | Math.floor(r() * 0x800000)) >>> 0;
      }
    }
    check(new Float32Array(u.buffer));
  });

  test('error bound holds: |deq − x| ≤ half grid step, or < 2·2^X when saturated', () => {
    const r = rng(7);
    const v = new Float32Array(32 * 3000);
    for (let i = 0; i < v.length; i++) v[i] = (r() - 0.5) * 2 ** (Math.floor(r() * 40) - 20);
    const { blocks, scales } = quantizeMxfp4(v);
    const d = dequantizeMxfp4(blocks, scales);
    for (let i = 0; i < v.length; i++) {
      const X = scales[i >> 5] - 127;
      const a = Math.abs(v[i]) / 2 ** X;
      const bound = (a <= 2 ? 0.25 : a <= 4 ? 0.5 : a <= 6 ? 1 : 2) * 2 ** X;
      const err = Math.abs(d[i] - v[i]);
      if (!(err <= bound)) expect({ i, x: v[i], got: d[i], err }).toEqual({ i, bound });
    }
  });

  test('dequantize → quantize is the identity when a block holds a ±4 or ±6 (scale recoverable)', () => {
    const r = rng(3);
    const G = 253 * 8;
    const blocks = new Uint8Array(G * 16);
    const scales = new Uint8Array(G);
    for (let g = 0; g < G; g++) {
      scales[g] = g % 253; // 0..252: 6·2^(s−127) stays finite in f32
      for (let j = 0; j < 16; j++) blocks[g * 16 + j] = Math.floor(r() * 256);
      blocks[g * 16 + Math.floor(r() * 16)] = (r() < 0.5 ? 0x07 : 0x0e) | (blocks[g * 16] & 0xf0);
    }
    const d = dequantizeMxfp4(blocks, scales);
    const q = quantizeMxfp4(d);
    expect([...q.scales]).toEqual([...scales]);
    expect(Buffer.from(q.blocks).equals(Buffer.from(blocks))).toBe(true);
  });

  test('bf16 input gives the same result as widening first; shapes checked', () => {
    const r = rng(11);
    const v = new Float32Array(32 * 5000).map(() => (r() - 0.5) * 100);
    const b = f32ToBf16(v);
    const wide = new Float32Array(new Uint32Array(b.length).map((_, i) => b[i] << 16).buffer);
    const a = quantizeMxfp4FromBf16(b, { shape: [100, 1600] });
    const c = quantizeMxfp4(wide);
    expect(Buffer.from(a.blocks).equals(Buffer.from(c.blocks))).toBe(true);
    expect(Buffer.from(a.scales).equals(Buffer.from(c.scales))).toBe(true);
    expect(() => quantizeMxfp4(new Float32Array(33))).toThrow(Mxfp4CodecError);
    expect(() => quantizeMxfp4(new Float32Array(64), { shape: [4, 16] })).toThrow(/multiple of 32/);
    expect(() => quantizeMxfp4FromBf16(new Uint16Array(64), { shape: [3, 32] })).toThrow(/64 elements/);
  });
});
