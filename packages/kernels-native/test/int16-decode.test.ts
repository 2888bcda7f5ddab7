import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cpuFeatures,
  getDecodeInt16,
  getDecodePrecision,
  getIsa,
  matmulSync,
  moeSync,
  setDecodeInt16,
  setDecodePrecision,
  setIsa,
  supportedIsas,
  type Isa,
} from '../src/index.js';
import {
  bf16Array,
  dequantMxfp4,
  matmulRef,
  mxWeight as mx,
  poisoned,
  randomBf16,
  randomF32,
  randomMoeCase,
  randomMxfp4,
  relErr,
  rng,
} from './reference.js';

// The int16 MXFP4 decode GEMV (native/i16-gemv-avx512.h): at most 4 tokens per weight, AVX-512 VNNI only. Weights
// are exact; each activation block of 32 is quantized to int16 with scale max|x| / 32639, so every activation moves
// by at most 1/65278 of its block's largest value: ~3e-5 scale-aware error on these inputs (2e-4 asserted), inside
// the runtime's fp32 tolerance (1e-3). Other variants, and more than 4 tokens, keep their own paths.
const I16_TOL = 2e-4;
const FP32_TOL = 2e-5;
const vnni = cpuFeatures().includes('avx512vnni');

const initialIsa = getIsa();
const initialInt8 = getDecodePrecision() === 'int8';
// These tests exercise the path even when GPTOSS_CPU_INT16GEMV=0 turned it off, or GPTOSS_CPU_DECODE=int8 (which
// takes precedence) is set for the process.
beforeAll(() => {
  setDecodeInt16(true);
  setDecodePrecision('fp32');
});
afterAll(() => {
  setIsa(initialIsa);
  setDecodeInt16(process.env.GPTOSS_CPU_INT16GEMV !== '0');
  setDecodePrecision(initialInt8 ? 'int8' : 'fp32');
});

/** Activations with a few outlier channels (x30), as real hidden states have. */
function activations(n: number, r: () => number): Float32Array {
  const x = randomF32(n, r);
  for (let i = 0; i < n; i++) if (r() < 0.03) x[i] *= 30;
  return x;
}

describe.each(supportedIsas() as Isa[])('int16 decode GEMV, isa %s', (isa) => {
  const active = isa === 'avx512' && vnni;

  // k = 32 and 160 leave a partial group of 4 blocks; 5 tokens take the prefill path instead.
  it.each([
    [1, 37, 96],
    [1, 64, 2880],
    [1, 5, 32],
    [1, 7, 160],
    [2, 33, 288],
    [2, 3, 224],
    [3, 19, 2880],
    [4, 8, 64],
    [5, 21, 288],
  ])('MXFP4 matmul + bias t=%i rows=%i k=%i', (t, rows, k) => {
    setIsa(isa);
    expect(getDecodeInt16()).toBe(active);
    const r = rng(t * 131 + rows * 7 + k);
    const x = activations(t * k, r);
    const w = randomMxfp4(rows, k, r);
    const b = randomBf16(rows, r);
    const want = matmulRef(x, t, dequantMxfp4(w.blocks, w.scales, rows, k), rows, k, bf16Array(b));
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: mx(w.blocks, w.scales, rows, k), bias: b, out });
    const err = relErr(out, want);
    const tol = active && t <= 4 ? I16_TOL : t <= 4 ? FP32_TOL : 1e-4;
    expect(err).toBeLessThan(tol);
    // The quantization is really in effect (an fp32 path lands near 1e-7).
    if (active && t <= 4) expect(err).toBeGreaterThan(1e-6);
  });

  it('MoE decode step', () => {
    setIsa(isa);
    const { params, residual, want } = randomMoeCase(rng(77), 3, 128, 96, 6, 2);
    const out = Float32Array.from(residual);
    moeSync({ ...params, out });
    expect(relErr(out, want)).toBeLessThan(active ? I16_TOL : 1e-4);
  });

  it('NaN and Inf activations turn their outputs NaN, as in fp32', () => {
    setIsa(isa);
    const [rows, k] = [9, 96];
    const r = rng(5);
    const w = randomMxfp4(rows, k, r);
    for (const bad of [NaN, Infinity]) {
      const x = randomF32(2 * k, r);
      x[k + 40] = bad;
      const out = poisoned(2 * rows);
      matmulSync({ x, tokens: 2, weight: mx(w.blocks, w.scales, rows, k), out });
      expect(out.subarray(0, rows).every(Number.isFinite)).toBe(true);
      // fp32 gives ±Inf or NaN per output, the quantized paths NaN: never a finite number.
      expect(out.subarray(rows).some(Number.isFinite)).toBe(false);
    }
  });
});

// E8M0 bytes at the edges of the format, each filling the whole matrix: 0 (2^-127, subnormal in fp32), 1 (2^-126: the
// int8 path once turned it into 0.0), 2, 126, 128, 253 and 254 (2^127), and 255 (NaN, OCP MX v1.0). Every path is
// linear in a power-of-two scale, so the outputs at scale e must equal those at scale 127 (1.0) times 2^(e - 127):
// this checks the scale decoding itself to ~1e-5, far below each path's quantization error. (The activations are
// scaled by 2^-100 for e >= 253 so that the results stay finite; the quantization is invariant to that.) The int16
// GEMV's fast path (E8M0 in [64, 190], activation scales in [2^-60, 2^60]) and its careful path are both covered.
describe.each(supportedIsas() as Isa[])('E8M0 scale edges, isa %s', (isa) => {
  const modes = [
    { name: 'fp32', int16: false, int8: false },
    { name: 'int16', int16: true, int8: false },
    { name: 'int8', int16: false, int8: true },
  ];
  const [rows, k] = [6, 288]; // 9 blocks: two full groups of 4 (the main loops) and a partial one
  it.each(modes.flatMap((m) => [1, 2, 6].map((t) => [m.name, t] as const)))('%s, %i token(s)', (mode, t) => {
    setIsa(isa);
    const m = modes.find((v) => v.name === mode)!;
    setDecodeInt16(m.int16);
    setDecodePrecision(m.int8 ? 'int8' : 'fp32');
    try {
      const quantized = isa === 'avx512' && vnni && t <= 4 && (m.int16 || m.int8);
      const r = rng(t * 17 + k);
      const x = randomF32(t * k, r);
      const w = randomMxfp4(rows, k, r);
      // FP4 magnitudes up to 1.5 only: 2 x 2^127 (and 6 x 2^126) exceed the fp32 range, so weights that large are
      // infinite in the reference and in any fp32 widening.
      w.blocks.forEach((b, i) => (w.blocks[i] = b & 0xbb));
      const run = (scale: number, xs: Float32Array) => {
        w.scales.fill(scale);
        const out = poisoned(t * rows);
        matmulSync({ x: xs, tokens: t, weight: mx(w.blocks, w.scales, rows, k), out });
        return out;
      };
      const base = run(127, x);
      const want = matmulRef(x, t, dequantMxfp4(w.blocks, w.scales, rows, k), rows, k);
      expect(relErr(base, want)).toBeLessThan(!quantized ? 1e-4 : m.int8 ? 1e-2 : I16_TOL);
      // (scale byte, activation scale): tiny activations with a normal scale byte take the careful path too.
      for (const [edge, xScale] of [[0, 1], [1, 1], [2, 1], [126, 1], [128, 1], [127, 2 ** -90], [253, 2 ** -100], [254, 2 ** -100]]) {
        const out = run(edge, x.map((v) => v * xScale));
        const expected = Float64Array.from(base, (v) => v * 2 ** (edge - 127) * xScale);
        // int8 multiplies the weight and activation scales first, which is subnormal for e <= 2 (11-15 bits left):
        // still inside its own 1e-2 class.
        const tol = m.int8 && quantized && edge <= 2 ? 1e-2 : 1e-5;
        expect(relErr(out, expected, 0), `scale byte ${edge}`).toBeLessThan(tol);
      }
      // 255 in one block of a row: that row is NaN (as @gptoss/mxfp4 decodes it), the others are not.
      w.scales.fill(127);
      w.scales[2 * (k / 32) + 4] = 255;
      const out = poisoned(t * rows);
      matmulSync({ x, tokens: t, weight: mx(w.blocks, w.scales, rows, k), out });
      for (let i = 0; i < t * rows; i++) expect(Number.isNaN(out[i]), `output ${i}`).toBe(i % rows === 2);
    } finally {
      setDecodeInt16(true);
      setDecodePrecision('fp32');
    }
  });
});
