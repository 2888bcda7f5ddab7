import { describe, expect, test } from 'vitest';
import { moeMlp1, moeMlp1Program, type MoeProgramOptions, type MoeShape } from '../src/kernels/moe-mlp1.js';
import { moeMlp2, moeMlp2Program } from '../src/kernels/moe-mlp2.js';
import { moeCombineProgram, moeGrouped, moeGroupedMlp1Program, moeGroupedMlp2Program } from '../src/kernels/moe-grouped.js';
import { f16Bits, f16Value, fromHalfPairs, gpu, SHAPES, maxAbsDiff, poison, randn, relL2, rng, toHalfPairs } from './helpers.js';
import { randomMxfp4, refRmsNorm, refSwiglu, refTopk } from './reference.js';

describe('MoE decode kernels (MXFP4)', () => {
  const cases: (MoeShape & { tokens: number; xRow0: number })[] = [
    { H: 64, I: 96, E: 7, k: 4, expertsPerPart: 7, tokens: 1, xRow0: 0 },
    { H: 96, I: 64, E: 9, k: 3, expertsPerPart: 4, tokens: 3, xRow0: 1 },
    // 34 MXFP4 blocks per row: two 32-block columns per lane row (the second partial), split over subgroups by kSplit.
    { H: 1088, I: 64, E: 3, k: 2, expertsPerPart: 3, tokens: 2, xRow0: 1 },
    // Several tokens per expert: the grouped kernels take more than one pass of 4 tokens, with a remainder.
    { H: 64, I: 64, E: 3, k: 2, expertsPerPart: 3, tokens: 11, xRow0: 2 },
    // More than one 32-token tile per expert, N not a multiple of the 64-row tile (I = 96: 2I = 192, H = 96).
    { H: 96, I: 96, E: 2, k: 2, expertsPerPart: 1, tokens: 37, xRow0: 1 },
  ];
  // GPU-shape variants the benchmark compares (rows per group, the loop-form kernel); the CPU shape has none.
  const variants: { name: string; shape: 'gpu' | 'cpu'; opts: MoeProgramOptions; grouped?: boolean; tiled?: boolean; prescaled?: boolean }[] = [
    ...SHAPES.map((shape) => ({ name: '', shape, opts: {} })),
    { name: ' rows 1/2', shape: 'gpu', opts: { pairsPerGroup: 1, rowsPerGroup: 2 } },
    { name: ' rows 2/8', shape: 'gpu', opts: { pairsPerGroup: 2, rowsPerGroup: 8 } },
    { name: ' legacy', shape: 'gpu', opts: { legacy: true } },
    // The fast path's f16-pair activations (here through unpack2x16float: SwiftShader has no shader-f16).
    { name: ' f16-pair activations', shape: 'gpu', opts: { halfActivations: true } },
    { name: ' f16-pair activations, rows 3/2', shape: 'gpu', opts: { halfActivations: true, pairsPerGroup: 3, rowsPerGroup: 2 } },
    { name: ' f16-pair activations, rows 2/4', shape: 'gpu', opts: { halfActivations: true, pairsPerGroup: 2 } },
    { name: ' f16-pair activations, rows 8/4', shape: 'gpu', opts: { halfActivations: true, pairsPerGroup: 8 } },
    { name: ' f16-pair activations, pairs via workgroup memory', shape: 'gpu', opts: { halfActivations: true, pairWrite: 'workgroup' } },
    // Inputs prescaled by powers of two (what the raw decode of the f16 path takes), undone by xScale / actScale.
    { name: ' f16-pair activations, prescaled inputs', shape: 'gpu', opts: { halfActivations: true }, prescaled: true },
    { name: ' grouped by expert (prefill)', shape: 'gpu', opts: {}, grouped: true },
    { name: ' grouped by expert, tiled (prefill)', shape: 'gpu', opts: {}, grouped: true, tiled: true },
  ];
  // The 37-token case (several 32-token tiles per expert) only matters to the grouped kernels.
  for (const { name, shape, opts, grouped, tiled, prescaled } of variants) for (const c of cases.filter((c) => grouped || c.tokens < 32)) {
    test(`[${shape}${name}] H=${c.H} I=${c.I} E=${c.E} k=${c.k} parts=${Math.ceil(c.E / c.expertsPerPart)} tokens=${c.tokens}`, async () => {
      const ctx = await gpu(shape);
      if (!ctx) return;
      const r = rng(c.H + c.E);
      const rowsX = c.xRow0 + c.tokens;
      const x = randn(rowsX * c.H, r, 2);
      const gain = randn(c.H, r);
      const logits = randn(rowsX * c.E, r, 3);
      // make a tie to check the lower-index rule
      logits[c.xRow0 * c.E + 2] = logits[c.xRow0 * c.E + 5];
      const W1 = randomMxfp4(c.E * 2 * c.I, c.H, r);
      const W2 = randomMxfp4(c.E * c.H, c.I, r);
      const b1 = randn(c.E * 2 * c.I, r);
      const b2 = randn(c.E * c.H, r);
      const limit = 7;
      const half = !!opts.halfActivations;
      // reference (with f16-pair activations: from the f16 xn the kernel reads, through f16 act values)
      const xn32 = refRmsNorm(x, gain, rowsX, c.H, 1e-5);
      const xn = half ? fromHalfPairs(toHalfPairs(xn32, c.H), c.H) : xn32;
      const roundAct = (v: number) => (half ? f16Value(f16Bits(v)) : v);
      const wantAct = new Float32Array(c.tokens * c.k * c.I);
      const wantX = x.slice();
      for (let t = 0; t < c.tokens; t++) {
        const row = c.xRow0 + t;
        const { idx, w } = refTopk(logits.subarray(row * c.E, (row + 1) * c.E), c.k);
        for (let s = 0; s < c.k; s++) {
          const e = idx[s];
          const a = new Float32Array(c.I);
          for (let i = 0; i < c.I; i++) {
            let g = b1[e * 2 * c.I + 2 * i];
            let l = b1[e * 2 * c.I + 2 * i + 1];
            for (let h = 0; h < c.H; h++) {
              g += W1.values[(e * 2 * c.I + 2 * i) * c.H + h] * xn[row * c.H + h];
              l += W1.values[(e * 2 * c.I + 2 * i + 1) * c.H + h] * xn[row * c.H + h];
            }
            a[i] = refSwiglu(g, l, limit);
          }
          wantAct.set(a, (t * c.k + s) * c.I);
          for (let i = 0; i < c.I; i++) a[i] = roundAct(a[i]);
          for (let h = 0; h < c.H; h++) {
            let o = b2[e * c.H + h];
            for (let i = 0; i < c.I; i++) o += W2.values[(e * c.H + h) * c.I + i] * a[i];
            wantX[row * c.H + h] += w[s] * o;
          }
        }
      }
      const split = (t: Uint8Array, perExpert: number) => {
        const out: GPUBuffer[] = [];
        for (let e0 = 0; e0 < c.E; e0 += c.expertsPerPart) {
          const e1 = Math.min(c.E, e0 + c.expertsPerPart);
          out.push(ctx.upload(t.subarray(e0 * perExpert, e1 * perExpert)));
        }
        return out;
      };
      const xBuf = ctx.upload(x);
      // f16 NaN in both halves for the f16-pair layout, so that unwritten values show.
      const act = ctx.upload(half ? new Uint32Array((c.tokens * c.k * c.I) / 2).fill(0x7e007e00) : poison(c.tokens * c.k * c.I));
      const lBuf = ctx.upload(logits);
      const rec = ctx.begin();
      if (grouped) {
        moeGrouped(
          rec,
          {
            mlp1: moeGroupedMlp1Program(ctx.caps, c, 48, { tiled }),
            mlp2: moeGroupedMlp2Program(ctx.caps, c, 48, { tiled }),
            combine: moeCombineProgram(c),
          },
          c,
          {
            blocks1: split(W1.blocks, 2 * c.I * (c.H / 2)),
            scales1: ctx.upload(W1.scales),
            bias1: ctx.upload(b1),
            blocks2: split(W2.blocks, c.H * (c.I / 2)),
            scales2: ctx.upload(W2.scales),
            bias2: ctx.upload(b2),
            logits: lBuf,
            xn: ctx.upload(xn),
            act,
            y: ctx.upload(poison(c.tokens * c.k * c.H)),
            x: xBuf,
            tokens: c.tokens,
            xRow0: c.xRow0,
            limit,
          },
        );
      } else {
        moeMlp1(rec, moeMlp1Program(ctx.caps, c, opts), c, {
          blocks: split(W1.blocks, 2 * c.I * (c.H / 2)),
          scales: ctx.upload(W1.scales),
          bias: ctx.upload(b1),
          logits: lBuf,
          tokens: c.tokens,
          xRow0: c.xRow0,
          xn: ctx.upload(half ? toHalfPairs(prescaled ? xn32.map((v) => v * 8) : xn32, c.H) : xn),
          act,
          limit,
          ...(prescaled ? { xScale: 1 / 8, actOut: 32 } : {}),
        });
        moeMlp2(rec, moeMlp2Program(ctx.caps, c, opts), c, {
          blocks: split(W2.blocks, c.H * (c.I / 2)),
          scales: ctx.upload(W2.scales),
          bias: ctx.upload(b2),
          logits: lBuf,
          tokens: c.tokens,
          xRow0: c.xRow0,
          act,
          x: xBuf,
          ...(prescaled ? { actScale: 1 / 32 } : {}),
        });
      }
      rec.submit();
      const gotAct = half ? fromHalfPairs(await ctx.readU32(act, wantAct.length / 2), c.I) : await ctx.readF32(act, wantAct.length);
      if (prescaled) for (let i = 0; i < gotAct.length; i++) gotAct[i] /= 32;
      // f16 act values: each within half an f16 ulp (2^-11 relative) of the f32 result.
      expect(relL2(gotAct, wantAct)).toBeLessThan(half ? 6e-4 : 1e-5);
      const gotX = await ctx.readF32(xBuf, wantX.length);
      expect(maxAbsDiff(gotX, wantX)).toBeLessThan(1e-3);
      expect(relL2(gotX, wantX)).toBeLessThan(half ? 1e-4 : 1e-5);
    });
  }
});
