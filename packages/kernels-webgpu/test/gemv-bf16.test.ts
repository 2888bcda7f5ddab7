import { describe, expect, test } from 'vitest';
import { gemvBf16, gemvBf16Program } from '../src/kernels/gemv-bf16.js';
import { gemmBf16, gemmBf16Program } from '../src/kernels/gemm-bf16.js';
import { refGemv, refRmsNorm } from './reference.js';
import { fromHalfPairs, gpu, SHAPES, maxAbsDiff, poison, randn, rng, toBf16 } from './helpers.js';

describe('gemvBf16', () => {
  const cases: { N: number; K: number; M: number; norm: boolean; bias: boolean; residual: boolean; split: number; wn?: boolean; half?: boolean; rw?: 1; xs?: number; ride?: boolean }[] = [
    { N: 37, K: 72, M: 1, norm: false, bias: true, residual: false, split: 1 },
    { N: 101, K: 264, M: 3, norm: true, bias: true, residual: false, split: 2 },
    { N: 9, K: 8, M: 2, norm: false, bias: false, residual: true, split: 1 },
    { N: 300, K: 136, M: 8, norm: true, bias: false, residual: true, split: 3 },
    // The router's form: RMSNorm, bias, and the normalised rows written for the MoE kernels.
    { N: 33, K: 264, M: 2, norm: true, bias: true, residual: false, split: 2, wn: true },
    // ... as f16 pairs for the fast path's MoE kernels (GPU shape only); K = 264 is 33 groups of 8, not a multiple of 32.
    { N: 33, K: 264, M: 3, norm: true, bias: true, residual: false, split: 2, wn: true, half: true },
    // A workgroup per row (the router's GPU shape): 300 rows in 3 parts, K over 256 invocations with a remainder.
    { N: 300, K: 2120, M: 2, norm: true, bias: true, residual: false, split: 3, wn: true, half: true, rw: 1 },
    { N: 7, K: 136, M: 1, norm: true, bias: false, residual: true, split: 1, wn: true, rw: 1 },
    // f16 pairs prescaled by a power of two (the MoE kernels' raw decode); the dot products are not.
    { N: 32, K: 2880, M: 1, norm: true, bias: true, residual: false, split: 1, wn: true, half: true, rw: 1, xs: 64 },
    // Extra workgroups reading two other buffers ahead (benchmark option): the rows' results are unchanged.
    { N: 300, K: 136, M: 2, norm: false, bias: true, residual: true, split: 3, ride: true },
  ];
  for (const shape of SHAPES) for (const c of cases.filter((c) => !(c.half || c.rw || c.ride) || shape === 'gpu')) {
    test(`[${shape}] N=${c.N} K=${c.K} M=${c.M} norm=${c.norm} bias=${c.bias} residual=${c.residual} parts=${c.split}${c.wn ? ' writeNormed' : ''}${c.half ? ' (f16 pairs)' : ''}${c.rw ? ' 1 row per workgroup' : ''}${c.xs ? ` xnScale ${c.xs}` : ''}${c.ride ? ' riding' : ''}`, async () => {
      const ctx = await gpu(shape);
      if (!ctx) return;
      const r = rng(c.N * 7 + c.K);
      const W = toBf16(randn(c.N * c.K, r));
      const x = randn(c.M * c.K, r, 2);
      const gain = randn(c.K, r);
      const bias = randn(c.N, r);
      const init = c.residual ? randn(c.M * c.N, r) : poison(c.M * c.N);
      // reference
      const xin = c.norm ? refRmsNorm(x, gain, c.M, c.K, 1e-5) : x;
      const want = refGemv(W.values, xin, c.M, c.N, c.K);
      for (let m = 0; m < c.M; m++)
        for (let n = 0; n < c.N; n++) {
          if (c.bias) want[m * c.N + n] += bias[n];
          if (c.residual) want[m * c.N + n] += init[m * c.N + n];
        }
      // GPU: split rows into parts like a tensor over the binding limit
      const per = Math.ceil(c.N / c.split);
      const parts = [];
      for (let s = 0; s < c.N; s += per) {
        const rows = Math.min(per, c.N - s);
        parts.push({ buffer: ctx.upload(W.bits.subarray(s * c.K, (s + rows) * c.K)), rowStart: s, rows });
      }
      const out = ctx.upload(init);
      const xnOut = ctx.upload(poison(c.M * c.K));
      const rideWords = [Uint32Array.from({ length: 4 * 700 }, (_, i) => (i * 2654435761) >>> 0), Uint32Array.from({ length: 4 * 300 }, (_, i) => (i * 40503 + 7) >>> 0)];
      const rideA = ctx.upload(rideWords[0]);
      const rideB = ctx.upload(rideWords[1]);
      const sink = ctx.upload(new Uint32Array(1024));
      const prog = gemvBf16Program(ctx.caps, { K: c.K, M: c.M, norm: c.norm, bias: c.bias, residual: c.residual, writeNormed: c.wn, normedHalf: c.half, rowsPerWorkgroup: c.rw, ride: c.ride ? 2 : undefined });
      const rec = ctx.begin();
      gemvBf16(rec, prog, {
        parts,
        x: ctx.upload(x),
        gain: c.norm ? ctx.upload(gain) : undefined,
        bias: c.bias ? ctx.upload(bias) : undefined,
        out,
        xnOut: c.wn ? xnOut : undefined,
        outStride: c.N,
        xnScale: c.xs,
        ride: c.ride ? { buffers: [rideA, rideB], sink } : undefined,
      });
      rec.submit();
      const got = await ctx.readF32(out, c.M * c.N);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-3 * Math.sqrt(c.K));
      if (c.ride) {
        // One u32 per extra invocation per part: the XOR of its vec4 of each buffer read ahead.
        const sk = await ctx.readU32(sink, 1024);
        for (const i of [0, 299, 699]) {
          let a = 0;
          for (const w of rideWords) if (i < w.length / 4) a ^= w[4 * i] ^ w[4 * i + 1] ^ w[4 * i + 2] ^ w[4 * i + 3];
          expect(sk[i]).toBe(a >>> 0);
        }
      }
      if (c.wn && c.half) {
        // Each value within half an f16 ulp (plus f32 rounding) of the f32 normalised row.
        const got = fromHalfPairs(await ctx.readU32(xnOut, (c.M * c.K) / 2), c.K).map((v) => v / (c.xs ?? 1));
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - xin[i])).toBeLessThanOrEqual(Math.abs(xin[i]) * 2 ** -11 + 1e-6);
      } else if (c.wn) {
        expect(maxAbsDiff(await ctx.readF32(xnOut, c.M * c.K), xin)).toBeLessThan(1e-4);
      }
    });
  }
});

describe('bind groups reused across steps', () => {
  test('a dispatch at the same slot with other buffers or offsets reads those, not the previous step', async () => {
    const ctx = await gpu();
    if (!ctx) return;
    const r = rng(5);
    const N = 24;
    const K = 64;
    const W = toBf16(randn(N * K, r));
    const w = ctx.upload(W.bits);
    const prog = gemvBf16Program(ctx.caps, { K, M: 1 });
    const xs = [randn(K, r), randn(K, r)];
    const xBufs = xs.map((x) => ctx.upload(x));
    // x twice in one buffer, read through offsets
    const both = ctx.upload(Float32Array.from([...xs[0], ...xs[1]]));
    const out = ctx.upload(poison(N));
    const run = async (x: Parameters<typeof gemvBf16>[2]['x']) => {
      const rec = ctx.begin();
      gemvBf16(rec, prog, { parts: [{ buffer: w, rowStart: 0, rows: N }], x, out, outStride: N });
      rec.submit();
      return ctx.readF32(out, N);
    };
    for (const [i, x] of [
      [0, xBufs[0]],
      [1, xBufs[1]],
      [0, { buffer: both, offset: 0, size: K * 4 }],
      [1, { buffer: both, offset: K * 4, size: K * 4 }],
      [1, xBufs[1]],
    ] as const) {
      expect(maxAbsDiff(await run(x), refGemv(W.values, xs[i], 1, N, K))).toBeLessThan(1e-3 * Math.sqrt(K));
    }
  });
});

describe('gemmBf16 (tiled prefill GEMM, GPU shape)', () => {
  // Token counts across 32-token tiles with a remainder, rows not a multiple of the 64-row tile, weight parts,
  // an offset input row and output row.
  const cases = [
    { N: 101, K: 96, T: 37, xRow0: 2, outRow0: 1, norm: true, bias: true, residual: false, wn: true, split: 2 },
    { N: 64, K: 32, T: 5, xRow0: 0, outRow0: 0, norm: false, bias: false, residual: true, wn: false, split: 1 },
    { N: 150, K: 160, T: 70, xRow0: 1, outRow0: 0, norm: false, bias: true, residual: true, wn: false, split: 3 },
  ];
  for (const c of cases) {
    test(`N=${c.N} K=${c.K} tokens=${c.T} norm=${c.norm} bias=${c.bias} residual=${c.residual} writeNormed=${c.wn}`, async () => {
      const ctx = await gpu('gpu');
      if (!ctx) return;
      const r = rng(c.N * 3 + c.K + c.T);
      const W = toBf16(randn(c.N * c.K, r));
      const rowsX = c.xRow0 + c.T;
      const x = randn(rowsX * c.K, r, 2);
      const gain = randn(c.K, r);
      const bias = randn(c.N, r);
      const outRows = c.outRow0 + c.T;
      const init = c.residual ? randn(outRows * c.N, r) : poison(outRows * c.N);
      const xnAll = c.norm ? refRmsNorm(x, gain, rowsX, c.K, 1e-5) : x;
      const xin = xnAll.subarray(c.xRow0 * c.K);
      const prod = refGemv(W.values, xin, c.T, c.N, c.K);
      const want = init.slice();
      for (let m = 0; m < c.T; m++)
        for (let n = 0; n < c.N; n++) {
          const o = (c.outRow0 + m) * c.N + n;
          want[o] = prod[m * c.N + n] + (c.bias ? bias[n] : 0) + (c.residual ? init[o] : 0);
        }
      const per = Math.ceil(c.N / c.split);
      const parts = [];
      for (let s = 0; s < c.N; s += per) {
        const rows = Math.min(per, c.N - s);
        parts.push({ buffer: ctx.upload(W.bits.subarray(s * c.K, (s + rows) * c.K)), rowStart: s, rows });
      }
      const out = ctx.upload(init);
      const xnOut = ctx.upload(poison(rowsX * c.K));
      const prog = gemmBf16Program(ctx.caps, { K: c.K, norm: c.norm, bias: c.bias, residual: c.residual, writeNormed: c.wn });
      const rec = ctx.begin();
      gemmBf16(rec, prog, {
        parts,
        x: ctx.upload(x),
        xRow0: c.xRow0,
        tokens: c.T,
        gain: c.norm ? ctx.upload(gain) : undefined,
        bias: c.bias ? ctx.upload(bias) : undefined,
        out,
        outRow0: c.outRow0,
        xnOut: c.wn ? xnOut : undefined,
        outStride: c.N,
      });
      rec.submit();
      const got = await ctx.readF32(out, outRows * c.N);
      // rows before outRow0 are untouched (poison or residual input)
      expect(Array.from(got.subarray(0, c.outRow0 * c.N))).toEqual(Array.from(init.subarray(0, c.outRow0 * c.N)));
      expect(maxAbsDiff(got.subarray(c.outRow0 * c.N), want.subarray(c.outRow0 * c.N))).toBeLessThan(1e-3 * Math.sqrt(c.K));
      if (c.wn) {
        const gotXn = await ctx.readF32(xnOut, rowsX * c.K);
        const from = c.xRow0 * c.K;
        expect(maxAbsDiff(gotXn.subarray(from), xnAll.subarray(from))).toBeLessThan(1e-4);
      }
    });
  }
});
