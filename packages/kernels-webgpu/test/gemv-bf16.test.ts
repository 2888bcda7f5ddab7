import { describe, expect, test } from 'vitest';
import { gemvBf16, gemvBf16Program } from '../src/kernels/gemv-bf16.js';
import { refGemv, refRmsNorm } from './reference.js';
import { gpu, SHAPES, maxAbsDiff, poison, randn, rng, toBf16 } from './helpers.js';

describe('gemvBf16', () => {
  const cases = [
    { N: 37, K: 72, M: 1, norm: false, bias: true, residual: false, split: 1 },
    { N: 101, K: 264, M: 3, norm: true, bias: true, residual: false, split: 2 },
    { N: 9, K: 8, M: 2, norm: false, bias: false, residual: true, split: 1 },
    { N: 300, K: 136, M: 8, norm: true, bias: false, residual: true, split: 3 },
  ];
  for (const shape of SHAPES) for (const c of cases) {
    test(`[${shape}] N=${c.N} K=${c.K} M=${c.M} norm=${c.norm} bias=${c.bias} residual=${c.residual} parts=${c.split}`, async () => {
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
      const prog = gemvBf16Program(ctx.caps, { K: c.K, M: c.M, norm: c.norm, bias: c.bias, residual: c.residual });
      const rec = ctx.begin();
      gemvBf16(rec, prog, {
        parts,
        x: ctx.upload(x),
        gain: c.norm ? ctx.upload(gain) : undefined,
        bias: c.bias ? ctx.upload(bias) : undefined,
        out,
        outStride: c.N,
      });
      rec.submit();
      const got = await ctx.readF32(out, c.M * c.N);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-3 * Math.sqrt(c.K));
    });
  }
});
