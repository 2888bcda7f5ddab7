import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cpuFeatures,
  getIsa,
  getPrefillPrecision,
  getThreads,
  matmulSync,
  moeSync,
  setIsa,
  setPrefillInt16,
  setPrefillPrecision,
  setThreads,
  supportedIsas,
  type Isa,
} from '../src/index.js';
import {
  bf16Array,
  dequantMxfp4,
  matmulRef,
  poisoned,
  randomBf16,
  randomF32,
  randomMoeCase,
  randomMxfp4,
  relErr,
  rng,
  swigluRef,
  activations,
  mxWeight as mx,
  PREFILL_GEMM_SHAPES,
} from './reference.js';

// The opt-in int8-activation MXFP4 prefill GEMM (native/i8-gemm-avx512.h, GPTOSS_CPU_PREFILL=int8): more than 4
// tokens per weight, AVX-512 VNNI only. Each activation block of 32 is quantized to int8 with scale max|x| / 127, so
// every activation moves by up to 1/254 of its block's largest value: ~4e-3 relative L2 error per GEMM on random
// inputs (the bf16 class; asserted below 1e-2). Beyond that, the kernel must be exact: its outputs are checked
// against an fp64 model of the same quantization to fp32 accumulation accuracy.
const I8_TOL = 1e-2;
const FP32_CLASS_TOL = 1e-4;
// Blocks of GEMMs (SwiGLU after the GEMM, MoE: mlp1, SwiGLU, mlp2 on requantized activations) compound the error:
// 1.1-1.4e-2 here, held to the runtime's bf16-class tolerance.
const I8_BLOCK_TOL = 2e-2; // the default prefill paths (int16 GEMM: ~2e-5; fp32: ~1e-6)

const vnni = cpuFeatures().includes('avx512vnni');
const initialIsa = getIsa();
const initialPrecision = getPrefillPrecision();
beforeAll(() => setPrefillPrecision('int8'));
afterAll(() => {
  setIsa(initialIsa);
  setPrefillPrecision(process.env.GPTOSS_CPU_PREFILL === 'int8' ? 'int8' : initialPrecision);
  setPrefillInt16(process.env.GPTOSS_CPU_INT16GEMM !== '0');
});

function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * fp64 model of the int8 GEMM: per token and 32-block, scale = fp32(max|x| / 127), q = clamp(rint(fp32(x / scale))),
 * out = Σ_blocks 2^(e - 127) scale Σ q w. Also returns per output Σ_blocks |2^(e - 127) scale Σ q w| for the
 * accumulation-rounding bound.
 */
function int8Model(x: Float32Array, t: number, blocks: Uint8Array, scales: Uint8Array, rows: number, k: number) {
  const G = k / 32;
  const w = dequantMxfp4(blocks, scales, rows, k);
  const q = new Float64Array(t * k);
  const d = new Float64Array(t * G);
  for (let i = 0; i < t; i++)
    for (let g = 0; g < G; g++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i * k + g * 32 + j]));
      const s = Math.fround(amax / 127);
      d[i * G + g] = s;
      for (let j = 0; j < 32; j++)
        q[i * k + g * 32 + j] = s === 0 ? 0 : Math.max(-127, Math.min(127, roundEven(Math.fround(x[i * k + g * 32 + j] / s))));
    }
  const out = new Float64Array(t * rows);
  const mag = new Float64Array(t * rows);
  for (let i = 0; i < t; i++)
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      let m = 0;
      for (let g = 0; g < G; g++) {
        let b = 0;
        for (let j = 0; j < 32; j++) b += q[i * k + g * 32 + j] * w[r * k + g * 32 + j];
        acc += b * d[i * G + g];
        m += Math.abs(b * d[i * G + g]);
      }
      out[i * rows + r] = acc;
      mag[i * rows + r] = m;
    }
  return { out, mag };
}

// Relative L2 errors per GEMM (against the fp64 reference), printed once for the record.
const errors: string[] = [];
afterAll(() => {
  if (errors.length) console.log(`int8 prefill GEMM relative L2 error vs fp64 reference:\n${errors.join('\n')}`);
});

describe.each(supportedIsas() as Isa[])('int8 MXFP4 prefill, isa %s', (isa) => {
  const active = isa === 'avx512' && vnni;

  it('is opt-in, and reported only where it takes effect', () => {
    setIsa(isa);
    setPrefillPrecision('fp32');
    expect(getPrefillPrecision()).toBe('fp32');
    setPrefillPrecision('int8');
    expect(getPrefillPrecision()).toBe(active ? 'int8' : 'fp32');
    // The int16 switch keeps working and does not turn int8 off.
    setPrefillInt16(false);
    expect(getPrefillPrecision()).toBe(active ? 'int8' : 'fp32');
    setPrefillInt16(true);
    expect(() => setPrefillPrecision('int4' as never)).toThrow(/expected 'fp32', 'bf16' or 'int8'/);
  });

  it.each([...PREFILL_GEMM_SHAPES, [100, 90, 2880, 'random'] as const])('t=%i rows=%i k=%i %s activations', (t, rows, k, kind) => {
    setIsa(isa);
    setPrefillPrecision('int8');
    const r = rng(t * 131 + rows * 7 + k);
    const x = activations(t, k, r, kind);
    const w = randomMxfp4(rows, k, r);
    const want = matmulRef(x, t, dequantMxfp4(w.blocks, w.scales, rows, k), rows, k);
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: mx(w.blocks, w.scales, rows, k), out });
    const err = relErr(out, want);
    if (active) {
      // Exact up to fp32 accumulation: against the fp64 model of the same quantization.
      const m = int8Model(x, t, w.blocks, w.scales, rows, k);
      let over = 0;
      for (let i = 0; i < out.length; i++) if (!(Math.abs(out[i] - m.out[i]) <= 1e-6 * m.mag[i] + 1e-30)) over++;
      expect(over).toBe(0);
      if (kind !== 'outlier') expect(err).toBeLessThan(I8_TOL);
      if (kind !== 'zero-blocks') expect(err).toBeGreaterThan(1e-4); // really the int8 path
      errors.push(`  t=${t} rows=${rows} k=${k} ${kind}: ${err.toExponential(2)}`);
    } else {
      // No VNNI here: the switch falls back to the variant's default path (fp32 class).
      expect(err).toBeLessThan(FP32_CLASS_TOL);
    }
    if (kind === 'zero-blocks') expect(out.subarray(0, rows).every((v) => v === 0)).toBe(true);
  });

  it('bias + SwiGLU epilogue over a partial last tile', () => {
    setIsa(isa);
    setPrefillPrecision('int8');
    const [t, rows, k] = [9, 46, 128];
    const r = rng(77);
    const x = randomF32(t * k, r, 0.5);
    const w = randomMxfp4(rows, k, r);
    const bias = randomBf16(rows, r);
    const h = matmulRef(x, t, dequantMxfp4(w.blocks, w.scales, rows, k), rows, k, bf16Array(bias));
    const out = poisoned((t * rows) / 2);
    matmulSync({ x, tokens: t, weight: mx(w.blocks, w.scales, rows, k), bias, out, epilogue: 'swiglu' });
    const err = relErr(out, swigluRef(h, t, rows));
    expect(err).toBeLessThan(active ? I8_BLOCK_TOL : FP32_CLASS_TOL);
    if (active) {
      // The epilogue itself adds nothing: against SwiGLU of the fp64 model of the int8 GEMM.
      const m = int8Model(x, t, w.blocks, w.scales, rows, k).out;
      const b = bf16Array(bias);
      const hm = Float32Array.from(m, (v, i) => v + b[i % rows]);
      expect(relErr(out, swigluRef(hm, t, rows))).toBeLessThan(1e-5);
      errors.push(`  t=${t} rows=${rows} k=${k} bias + SwiGLU: ${err.toExponential(2)}`);
    }
  });

  it('NaN and Inf activations poison their token only, as on the default path', () => {
    setIsa(isa);
    setPrefillPrecision('int8');
    const [t, rows, k] = [8, 20, 96];
    const r = rng(5);
    const x = randomF32(t * k, r);
    x[2 * k + 40] = NaN;
    x[5 * k + 3] = Infinity;
    x[6 * k + 70] = -Infinity;
    const w = randomMxfp4(rows, k, r);
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: mx(w.blocks, w.scales, rows, k), out });
    for (let i = 0; i < t; i++) {
      const row = Array.from(out.subarray(i * rows, (i + 1) * rows));
      if (i === 2 || (active && (i === 5 || i === 6))) expect(row.every(Number.isNaN)).toBe(true);
      else if (i === 5 || i === 6) expect(row.every((v) => !Number.isFinite(v))).toBe(true);
      else expect(row.every(Number.isFinite)).toBe(true);
    }
  });

  // E8M0 bytes at the edges of the format filling the whole matrix (0 and 1: subnormal 2^-127 / 2^-126 halves, 2,
  // 126, 128, 253, 254 = 2^127) must give the outputs at byte 127 times 2^(e - 127) (1e-5: the kernel multiplies by
  // the activation scale before the weight scale, so no subnormal product loses bits), and 255 is NaN in its row.
  it.each([6, 7, 13])('E8M0 scale edges, %i tokens', (t) => {
    setIsa(isa);
    setPrefillPrecision('int8');
    const [rows, k] = [19, 288];
    const r = rng(t * 17 + k);
    const x = randomF32(t * k, r);
    const w = randomMxfp4(rows, k, r);
    w.blocks.forEach((b, i) => (w.blocks[i] = b & 0xbb)); // |FP4| <= 1.5: 2 x 2^127 would overflow fp32
    const run = (scale: number, xs: Float32Array) => {
      w.scales.fill(scale);
      const out = poisoned(t * rows);
      matmulSync({ x: xs, tokens: t, weight: mx(w.blocks, w.scales, rows, k), out });
      return out;
    };
    const base = run(127, x);
    const want = matmulRef(x, t, dequantMxfp4(w.blocks, w.scales, rows, k), rows, k);
    expect(relErr(base, want)).toBeLessThan(active ? I8_TOL : FP32_CLASS_TOL);
    for (const [edge, xScale] of [[0, 1], [1, 1], [2, 1], [126, 1], [128, 1], [127, 2 ** -90], [253, 2 ** -100], [254, 2 ** -100]]) {
      const out = run(edge, x.map((v) => v * xScale));
      const expected = Float64Array.from(base, (v) => v * 2 ** (edge - 127) * xScale);
      expect(relErr(out, expected, 0), `scale byte ${edge}`).toBeLessThan(1e-5);
    }
    w.scales.fill(127);
    w.scales[2 * (k / 32) + 4] = 255;
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: mx(w.blocks, w.scales, rows, k), out });
    for (let i = 0; i < t * rows; i++) expect(Number.isNaN(out[i]), `output ${i}`).toBe(i % rows === 2);
  });

  it('MoE prefill (many tokens per expert) against the reference', () => {
    setIsa(isa);
    setPrefillPrecision('int8');
    const r = rng(321);
    const { params, residual, want } = randomMoeCase(r, 40, 96, 64, 4, 2);
    const out = Float32Array.from(residual);
    moeSync({ ...params, out });
    const err = relErr(out, want);
    expect(err).toBeLessThan(active ? I8_BLOCK_TOL : FP32_CLASS_TOL);
    if (active) errors.push(`  MoE block t=40 H=96 I=64 E=4 K=2 (residual included): ${err.toExponential(2)}`);
  });
});

describe('int8 MXFP4 prefill determinism', () => {
  it('gives identical results for 1, 2 and 3 threads', () => {
    setIsa(initialIsa);
    setPrefillPrecision('int8');
    const before = getThreads();
    const r = rng(23);
    const [t, rows, k] = [19, 301, 96];
    const x = randomF32(t * k, r);
    const { blocks, scales } = randomMxfp4(rows, k, r);
    const outs: Float32Array[] = [];
    try {
      for (const n of [1, 2, 3]) {
        setThreads(n);
        const out = poisoned(t * rows);
        matmulSync({ x, tokens: t, weight: mx(blocks, scales, rows, k), out });
        outs.push(out);
      }
    } finally {
      setThreads(before);
    }
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  });
});
