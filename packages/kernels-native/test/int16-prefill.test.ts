import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cpuFeatures,
  getIsa,
  getPrefillPrecision,
  getThreads,
  matmulSync,
  moeSync,
  setIsa,
  setPrefillPrecision,
  setThreads,
  supportedIsas,
  type Isa,
} from '../src/index.js';
import { addon } from '../src/loader.js';
import {
  FP4,
  activations,
  bf16Array,
  dequantMxfp4,
  matmulRef,
  poisoned,
  randomBf16,
  randomF32,
  randomMxfp4,
  relErr,
  rng,
  randomMoeCase,
  swigluRef,
  PREFILL_GEMM_SHAPES,
} from './reference.js';

// The int16 MXFP4 prefill GEMM (native/i16-gemm-avx512.h): more than 4 tokens per weight, AVX-512 VNNI only.
// Weights are exact; each activation block of 32 is quantized to int16 with scale max|x| / 32639, so every
// activation moves by at most 1/65278 of its block's largest value. That bound, summed over a dot product's blocks
// with the weights' magnitudes, is checked per output (plus fp32 rounding slack); on plain random inputs the
// scale-aware error is ~1e-5 (1e-4 asserted), a hundred times inside the runtime's fp32 tolerance (1e-3).
const I16_TOL = 1e-4;
const FP32_TOL = 2e-5;

// The switch is not part of the typed API (it is fp32-class, so `getPrefillPrecision` stays 'fp32').
const raw = () => addon() as unknown as { prefillInt16(): boolean; setPrefillInt16(on: boolean): void };

const initialIsa = getIsa();
const initialPrecision = getPrefillPrecision();
// These tests exercise the path even when GPTOSS_CPU_INT16GEMM=0 turned it off for the process, or
// GPTOSS_CPU_PREFILL=bf16 asked for the (lower precision) bf16 prefill, which takes precedence.
beforeAll(() => {
  raw().setPrefillInt16(true);
  setPrefillPrecision('fp32');
});
afterAll(() => {
  setIsa(initialIsa);
  raw().setPrefillInt16(process.env.GPTOSS_CPU_INT16GEMM !== '0');
  setPrefillPrecision(initialPrecision);
});

const vnni = cpuFeatures().includes('avx512vnni');

/** Per output: Σ_blocks (max|x_block| / 65278) Σ|w| + 1e-6 Σ|w x| (fp32 accumulation slack). */
function quantBound(x: Float32Array, t: number, w: Float32Array, rows: number, k: number): Float64Array {
  const b = new Float64Array(t * rows);
  for (let i = 0; i < t; i++) {
    const amax: number[] = [];
    for (let g = 0; g < k / 32; g++) {
      let m = 0;
      for (let j = 0; j < 32; j++) m = Math.max(m, Math.abs(x[i * k + g * 32 + j]));
      amax.push(m / 65278);
    }
    for (let r = 0; r < rows; r++) {
      let s = 0;
      let terms = 0;
      for (let j = 0; j < k; j++) {
        const wv = Math.abs(w[r * k + j]);
        s += amax[j >> 5] * wv;
        terms += wv * Math.abs(x[i * k + j]);
      }
      b[i * rows + r] = s + 1e-6 * terms;
    }
  }
  return b;
}

describe.each(supportedIsas() as Isa[])('int16 MXFP4 prefill, isa %s', (isa) => {
  const active = isa === 'avx512' && vnni;

  it('is on by default where the CPU has VNNI, and can be switched off', () => {
    setIsa(isa);
    raw().setPrefillInt16(true);
    expect(raw().prefillInt16()).toBe(active);
    raw().setPrefillInt16(false);
    expect(raw().prefillInt16()).toBe(false);
    raw().setPrefillInt16(true);
  });

  it.each(PREFILL_GEMM_SHAPES)('t=%i rows=%i k=%i %s activations', (t, rows, k, kind) => {
    setIsa(isa);
    const r = rng(t * 131 + rows * 7 + k);
    const x = activations(t, k, r, kind);
    const mx = randomMxfp4(rows, k, r);
    const wf = dequantMxfp4(mx.blocks, mx.scales, rows, k);
    const want = matmulRef(x, t, wf, rows, k);
    const bound = quantBound(x, t, wf, rows, k);
    const weight = { format: 'mxfp4', blocks: mx.blocks, scales: mx.scales, rows, cols: k } as const;
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight, out });
    let over = 0;
    for (let i = 0; i < out.length; i++) if (!(Math.abs(out[i] - want[i]) <= bound[i])) over++;
    expect(over).toBe(0);
    if (kind !== 'outlier') expect(relErr(out, want)).toBeLessThan(active ? I16_TOL : FP32_TOL);
    if (kind === 'zero-blocks') expect(out.subarray(0, rows).every((v) => v === 0)).toBe(true);
    // Switched off, the same call takes the fp32 path.
    raw().setPrefillInt16(false);
    try {
      const exact = poisoned(t * rows);
      matmulSync({ x, tokens: t, weight, out: exact });
      expect(relErr(exact, want)).toBeLessThan(FP32_TOL);
      // The int16 path really ran (its rounding differs from the fp32 path's).
      if (active && kind === 'random') expect(relErr(out, exact)).toBeGreaterThan(1e-7);
    } finally {
      raw().setPrefillInt16(true);
    }
  });

  it('bias + SwiGLU epilogue over a partial last tile', () => {
    setIsa(isa);
    const [t, rows, k] = [9, 46, 128];
    const r = rng(77);
    const x = randomF32(t * k, r, 0.5);
    const mx = randomMxfp4(rows, k, r);
    const bias = randomBf16(rows, r);
    const h = matmulRef(x, t, dequantMxfp4(mx.blocks, mx.scales, rows, k), rows, k, bf16Array(bias));
    const out = poisoned((t * rows) / 2);
    matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks: mx.blocks, scales: mx.scales, rows, cols: k }, bias, out, epilogue: 'swiglu' });
    expect(relErr(out, swigluRef(h, t, rows))).toBeLessThan(active ? I16_TOL : FP32_TOL);
  });

  it('NaN and Inf activations poison their token only, as on the fp32 path', () => {
    setIsa(isa);
    const [t, rows, k] = [8, 20, 96];
    const r = rng(5);
    const x = randomF32(t * k, r);
    x[2 * k + 40] = NaN;
    x[5 * k + 3] = Infinity;
    const mx = randomMxfp4(rows, k, r);
    for (let i = 0; i < mx.blocks.length; i++) if ((mx.blocks[i] & 7) === 0) mx.blocks[i] |= 1; // no zero weights
    for (let i = 0; i < mx.blocks.length; i++) if ((mx.blocks[i] & 0x70) === 0) mx.blocks[i] |= 0x10;
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks: mx.blocks, scales: mx.scales, rows, cols: k }, out });
    for (let i = 0; i < t; i++) {
      const row = Array.from(out.subarray(i * rows, (i + 1) * rows));
      if (i === 2) expect(row.every(Number.isNaN)).toBe(true);
      else if (i === 5) expect(row.every((v) => !Number.isFinite(v))).toBe(true);
      else expect(row.every(Number.isFinite)).toBe(true);
    }
  });

  it('MoE prefill (many tokens per expert) against the reference', () => {
    setIsa(isa);
    const r = rng(321);
    const { params, residual, want } = randomMoeCase(r, 40, 96, 64, 4, 2);
    const out = Float32Array.from(residual);
    moeSync({ ...params, out });
    expect(relErr(out, want)).toBeLessThan(active ? I16_TOL : 1e-4);
  });
});

describe('int16 MXFP4 prefill determinism', () => {
  it('gives identical results for 1, 2 and 3 threads', () => {
    const before = getThreads();
    const r = rng(23);
    const [t, rows, k] = [19, 301, 96];
    const x = randomF32(t * k, r);
    const { blocks, scales } = randomMxfp4(rows, k, r);
    const outs: Float32Array[] = [];
    for (const n of [1, 2, 3]) {
      setThreads(n);
      const out = poisoned(t * rows);
      matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks, scales, rows, cols: k }, out });
      outs.push(out);
    }
    setThreads(before);
    for (const o of outs) expect(o).toEqual(outs[0]);
  });

  it('FP4 table: every code and nibble position decodes right (one-hot activations)', () => {
    // x = 1.5 e_i for token i picks weight column i; a lone nonzero quantizes to 32639 exactly, so only the fp32
    // rounding of the scales remains.
    const rows = 16;
    const k = 32;
    const t = 32;
    const blocks = new Uint8Array(rows * 16);
    const scales = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < 16; j++) blocks[i * 16 + j] = (i + j) % 16 | (((i * 3 + j) % 16) << 4);
      scales[i] = 120 + (i % 12);
    }
    const x = new Float32Array(t * k);
    for (let i = 0; i < t; i++) x[i * k + i] = 1.5;
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks, scales, rows, cols: k }, out });
    for (let i = 0; i < t; i++)
      for (let rr = 0; rr < rows; rr++) {
        const byte = blocks[rr * 16 + (i >> 1)];
        const w = FP4[i & 1 ? byte >> 4 : byte & 15] * 2 ** (scales[rr] - 127);
        expect(Math.abs(out[i * rows + rr] - 1.5 * w)).toBeLessThanOrEqual(1e-6 * Math.abs(1.5 * w));
      }
  });
});
