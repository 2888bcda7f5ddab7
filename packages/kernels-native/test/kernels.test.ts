import { afterAll, describe, expect, it } from 'vitest';
import {
  attentionSync,
  attention,
  cpuFeatures,
  embedSync,
  getIsa,
  getPrefillPrecision,
  getDecodePrecision,
  setDecodePrecision,
  isAvailable,
  matmul,
  matmulSync,
  moeSync,
  rmsnormSync,
  routerTopkSync,
  ropeSync,
  setIsa,
  setPrefillPrecision,
  supportedIsas,
  unembedTopkSync,
  type Isa,
} from '../src/index.js';
import {
  attentionRef,
  bf16Array,
  dequantMxfp4,
  matmulRef,
  poisoned,
  randomBf16,
  randomF32,
  randomMoeCase,
  randomMxfp4,
  relErr,
  rmsnormRef,
  rng,
  routerRef,
  ropeRef,
  swigluRef,
} from './reference.js';

const TOL = 2e-5;

if (!isAvailable()) throw new Error('the native addon must be built for these tests (pnpm build)');
const initial = getIsa();
afterAll(() => setIsa(initial));

describe.each(supportedIsas() as Isa[])('isa %s', (isa) => {
  const use = () => setIsa(isa);

  // Token counts cover the direct path (1..4 tokens, incl. partial register tiles) and the widened-panel path.
  it.each([
    [1, 37, 75],
    [1, 9, 300],
    [2, 16, 33],
    [3, 101, 70],
    [5, 19, 129],
    [11, 45, 48],
  ])('bf16 matmul + bias: t=%i rows=%i k=%i', (t, rows, k) => {
    use();
    const r = rng(t * 1000 + rows + k);
    const x = randomF32(t * k, r);
    const w = randomBf16(rows * k, r);
    const bias = randomBf16(rows, r);
    const out = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: { format: 'bf16', data: w, rows, cols: k }, bias, out });
    expect(relErr(out, matmulRef(x, t, bf16Array(w), rows, k, bf16Array(bias)))).toBeLessThan(TOL);
  });

  it('fp32 weights, no bias, async', async () => {
    use();
    const r = rng(7);
    const [t, rows, k] = [6, 23, 41];
    const x = randomF32(t * k, r);
    const w = randomF32(rows * k, r);
    const out = poisoned(t * rows);
    await matmul({ x, tokens: t, weight: { format: 'f32', data: w, rows, cols: k }, out });
    expect(relErr(out, matmulRef(x, t, w, rows, k))).toBeLessThan(TOL);
  });

  it.each([
    [1, 30, 64],
    [3, 18, 96],
    [4, 2, 32],
    [7, 34, 160],
  ])('MXFP4 matmul + bias + SwiGLU: t=%i rows=%i k=%i', (t, rows, k) => {
    use();
    // Over 4 tokens, AVX-512 VNNI takes the int16 prefill path (int16-prefill.test.ts): ~1e-5, not ~1e-7.
    const tol = isa === 'avx512' && t > 4 && cpuFeatures().includes('avx512vnni') ? 1e-4 : TOL;
    const r = rng(rows * 31 + k + t);
    const x = randomF32(t * k, r, 0.5);
    const { blocks, scales } = randomMxfp4(rows, k, r);
    const bias = randomBf16(rows, r);
    const wf = dequantMxfp4(blocks, scales, rows, k);
    const h = matmulRef(x, t, wf, rows, k, bf16Array(bias));
    const plain = poisoned(t * rows);
    matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks, scales, rows, cols: k }, bias, out: plain });
    expect(relErr(plain, h)).toBeLessThan(tol);
    const out = poisoned((t * rows) / 2);
    matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks, scales, rows, cols: k }, bias, out, epilogue: 'swiglu' });
    expect(relErr(out, swigluRef(h, t, rows))).toBeLessThan(tol);
  });

  it('rmsnorm (bf16 and f32 gains)', () => {
    use();
    const r = rng(3);
    const [t, n] = [3, 77];
    const x = randomF32(t * n, r, 3);
    const g = randomBf16(n, r);
    const out = poisoned(t * n);
    rmsnormSync({ x, tokens: t, dim: n, scale: g, out });
    expect(relErr(out, rmsnormRef(x, t, n, bf16Array(g)))).toBeLessThan(TOL);
    const gf = randomF32(n, r);
    rmsnormSync({ x, tokens: t, dim: n, scale: gf, out });
    expect(relErr(out, rmsnormRef(x, t, n, gf))).toBeLessThan(TOL);
  });

  it('YaRN RoPE on a strided qkv row', () => {
    use();
    const r = rng(5);
    const [t, heads, stride] = [3, 5, 5 * 64 + 7];
    const positions = Int32Array.from([0, 1, 3000]);
    const x = randomF32(t * stride, r);
    const want = ropeRef(x, t, stride, heads, positions);
    ropeSync({ x, tokens: t, stride, heads, positions });
    // fp32 vs double frequency tables differ by a few ulps, amplified by the angle at position 3000.
    expect(relErr(x, want)).toBeLessThan(1e-4);
  });

  it.each([
    [1, 0, 8, 2, 0],
    [5, 20, 8, 2, 0],
    [6, 3, 4, 4, 4],
    [3, 130, 6, 3, 128],
    // gpt-oss's shape (8 query heads per KV head, D = 64: the AVX-512 variant's own dot and exp kernels), decode
    // and prefill, with and without a window, positions not a multiple of 16.
    [1, 600, 64, 8, 0],
    [4, 37, 16, 2, 0],
    [5, 300, 16, 2, 128],
  ])('sink attention: t=%i start=%i heads=%i kv=%i window=%i', (t, start, heads, kvHeads, window) => {
    use();
    const r = rng(t + start + heads + window);
    const D = 64;
    const S = start + t;
    const q = randomF32(t * heads * D, r);
    const k = randomF32(S * kvHeads * D, r);
    const v = randomF32(S * kvHeads * D, r);
    const positions = Int32Array.from({ length: t }, (_, i) => start + i);
    const sinks = randomBf16(heads, r);
    const out = poisoned(t * heads * D);
    attentionSync({ q, k, v, positions, tokens: t, heads, kvHeads, window, sinks, out });
    expect(relErr(out, attentionRef(q, k, v, positions, t, heads, kvHeads, D, window, bf16Array(sinks)))).toBeLessThan(TOL);
  });

  it('attention async equals sync', async () => {
    use();
    const r = rng(9);
    const [t, heads, kvHeads, D] = [2, 4, 2, 64];
    const q = randomF32(t * heads * D, r);
    const k = randomF32(t * kvHeads * D, r);
    const v = randomF32(t * kvHeads * D, r);
    const positions = Int32Array.from([0, 1]);
    const sinks = new Float32Array(heads).fill(0.3);
    const a = poisoned(t * heads * D);
    const b = poisoned(t * heads * D);
    attentionSync({ q, k, v, positions, tokens: t, heads, kvHeads, sinks, out: a });
    await attention({ q, k, v, positions, tokens: t, heads, kvHeads, sinks, out: b });
    expect(b).toEqual(a);
  });

  it('router top-k softmax, ties keep the lower expert', () => {
    use();
    const r = rng(11);
    const [t, e, k] = [5, 9, 4];
    const logits = randomF32(t * e, r);
    logits[3] = logits[7] = 5; // a tie at the top of token 0
    const got = routerTopkSync(logits, t, e, k);
    const want = routerRef(logits, t, e, k);
    expect(Array.from(got.ids)).toEqual(Array.from(want.ids));
    expect(relErr(got.weights, want.weights)).toBeLessThan(1e-6);
    expect(Array.from(got.ids.subarray(0, 2))).toEqual([3, 7]);
  });

  it.each([1, 3, 9])('MoE block with %i tokens adds to the residual', (t) => {
    use();
    const r = rng(13 + t);
    const { params, residual, want } = randomMoeCase(r, t, 96, 64, 5, 3);
    const out = Float32Array.from(residual);
    moeSync({ ...params, out });
    expect(relErr(out, want)).toBeLessThan(1e-4);
  });

  it.each([1, 3, 6])('unembedding fused with top-k (t=%i), logits only when asked', (t) => {
    use();
    const r = rng(17 + t);
    const [V, H, k] = [1003, 72, 5];
    const x = randomF32(t * H, r);
    const w = randomBf16(V * H, r);
    const want = matmulRef(x, t, bf16Array(w), V, H);
    const logits = poisoned(t * V);
    const { ids, values } = unembedTopkSync({ x, tokens: t, dim: H, weight: w, rows: V, k, logits });
    expect(relErr(logits, want)).toBeLessThan(TOL);
    for (let i = 0; i < t; i++) {
      const row = Array.from(want.subarray(i * V, (i + 1) * V));
      const order = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
      expect(Array.from(ids.subarray(i * k, (i + 1) * k))).toEqual(order);
      expect(relErr(values.subarray(i * k, (i + 1) * k), order.map((j) => row[j]))).toBeLessThan(TOL);
    }
    const greedy = unembedTopkSync({ x, tokens: t, dim: H, weight: w, rows: V });
    expect(greedy.ids.length).toBe(t);
  });

  it('embedding gather', () => {
    use();
    const r = rng(19);
    const table = randomBf16(10 * 33, r);
    const ids = Int32Array.from([9, 0, 4]);
    const out = poisoned(3 * 33);
    embedSync(table, 33, ids, out);
    const f = bf16Array(table);
    expect(Array.from(out)).toEqual([...ids].flatMap((i) => Array.from(f.subarray(i * 33, (i + 1) * 33))));
  });
});

describe('bf16 prefill precision', () => {
  it.each([
    ['bf16', 9, 37, 70],
    ['mxfp4', 13, 34, 96],
  ] as const)('%s GEMM with bf16 activations stays within 1e-2 and leaves decode exact', (format, t, rows, k) => {
    const r = rng(t * rows);
    const x = randomF32(t * k, r);
    const w = randomBf16(rows * k, r);
    const mx = randomMxfp4(rows, k, r);
    const weight =
      format === 'bf16'
        ? ({ format, data: w, rows, cols: k } as const)
        : ({ format, blocks: mx.blocks, scales: mx.scales, rows, cols: k } as const);
    const wf = format === 'bf16' ? bf16Array(w) : dequantMxfp4(mx.blocks, mx.scales, rows, k);
    const want = matmulRef(x, t, wf, rows, k);
    setPrefillPrecision('bf16');
    try {
      expect(getPrefillPrecision()).toBe('bf16');
      const out = poisoned(t * rows);
      matmulSync({ x, tokens: t, weight, out });
      expect(relErr(out, want)).toBeLessThan(1e-2);
      const one = poisoned(rows);
      matmulSync({ x, tokens: 1, weight, out: one });
      expect(relErr(one, want.subarray(0, rows))).toBeLessThan(TOL);
    } finally {
      setPrefillPrecision('fp32');
    }
  });
});

// int8 decode: the activations of the MXFP4 GEMVs are quantized per 32-block, so results move by up to ~1/254 of
// each block's largest activation; the stated tolerance is 1e-2 relative (max abs error / max abs value), the
// runtime's bf16 activation class being 2e-2. Variants without it stay exact.
describe.each(supportedIsas() as Isa[])('int8 decode precision, isa %s', (isa) => {
  const int8 = isa === 'avx512' && cpuFeatures().includes('avx512vnni');
  it.each([
    [1, 37, 96],
    [1, 64, 320],
    [2, 33, 288],
    [3, 19, 2880],
    [4, 8, 64],
    [5, 21, 288],
  ])('MXFP4 matmul t=%i rows=%i k=%i', (t, rows, k) => {
    setIsa(isa);
    const r = rng(t * 7 + rows + k);
    const x = randomF32(t * k, r);
    const mx = randomMxfp4(rows, k, r);
    const b = randomBf16(rows, r);
    const want = matmulRef(x, t, dequantMxfp4(mx.blocks, mx.scales, rows, k), rows, k, bf16Array(b));
    setDecodePrecision('int8');
    try {
      expect(getDecodePrecision()).toBe(int8 ? 'int8' : 'fp32');
      const out = poisoned(t * rows);
      matmulSync({ x, tokens: t, weight: { format: 'mxfp4', blocks: mx.blocks, scales: mx.scales, rows, cols: k }, bias: b, out });
      // More than 4 tokens take the prefill path, which int8 mode leaves fp32-accurate.
      expect(relErr(out, want)).toBeLessThan(int8 && t <= 4 ? 1e-2 : TOL);
      if (int8 && t <= 4) expect(relErr(out, want)).toBeGreaterThan(0);
    } finally {
      setDecodePrecision('fp32');
    }
    expect(getDecodePrecision()).toBe('fp32');
  });

  it('MXFP4 scale byte 0 (2^-128) and extreme scales stay finite', () => {
    setIsa(isa);
    const [rows, k] = [16, 512];
    const r = rng(4242);
    const x = randomF32(k, r);
    const mx = randomMxfp4(rows, k, r);
    for (let i = 0; i < mx.scales.length; i += 3) mx.scales[i] = 0;
    for (let i = 1; i < mx.scales.length; i += 7) mx.scales[i] = 1;
    const want = matmulRef(x, 1, dequantMxfp4(mx.blocks, mx.scales, rows, k), rows, k);
    setDecodePrecision('int8');
    try {
      const out = poisoned(rows);
      matmulSync({ x, tokens: 1, weight: { format: 'mxfp4', blocks: mx.blocks, scales: mx.scales, rows, cols: k }, out });
      expect(out.every(Number.isFinite)).toBe(true);
      expect(relErr(out, want)).toBeLessThan(int8 ? 1e-2 : TOL);
    } finally {
      setDecodePrecision('fp32');
    }
  });

  it('MoE decode step and bf16 GEMVs', () => {
    setIsa(isa);
    const r = rng(99);
    const [t, H] = [2, 96];
    const { params, residual, want } = randomMoeCase(r, t, H, 64, 5, 3);
    const { x } = params;
    const wb = randomBf16(40 * H, r);
    const wantB = matmulRef(x, t, bf16Array(wb), 40, H);
    setDecodePrecision('int8');
    try {
      const out = Float32Array.from(residual);
      moeSync({ ...params, out });
      expect(relErr(out, want)).toBeLessThan(int8 ? 1e-2 : 1e-4);
      const outB = poisoned(t * 40);
      matmulSync({ x, tokens: t, weight: { format: 'bf16', data: wb, rows: 40, cols: H }, out: outB });
      expect(relErr(outB, wantB)).toBeLessThan(TOL);
    } finally {
      setDecodePrecision('fp32');
    }
  });
});

describe('dispatch', () => {
  it('reports the variants the CPU has and rejects others', () => {
    expect(supportedIsas()).toContain('scalar');
    expect(() => setIsa('mmx' as Isa)).toThrow(/not supported/);
  });
});

describe('thread pool', () => {
  it('gives identical results for 1, 2 and 3 threads, across resizes', async () => {
    const { getThreads, setThreads } = await import('../src/index.js');
    const before = getThreads();
    const r = rng(23);
    const [t, rows, k] = [2, 301, 96];
    const x = randomF32(t * k, r);
    const { blocks, scales } = randomMxfp4(rows, k, r);
    const outs: Float32Array[] = [];
    for (const n of [1, 2, 3, 2]) {
      setThreads(n);
      expect(getThreads()).toBe(n);
      for (let rep = 0; rep < 20; rep++) {
        const out = poisoned(t * rows);
        await matmul({ x, tokens: t, weight: { format: 'mxfp4', blocks, scales, rows, cols: k }, out });
        outs.push(out);
      }
    }
    setThreads(before);
    for (const o of outs) expect(o).toEqual(outs[0]);
  });
});
