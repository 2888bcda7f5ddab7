import { describe, expect, test } from 'vitest';
import { GptOssGpu, type GptOssConfig } from '../src/model/gpt-oss.js';
import { routerFoldLayout } from '../src/kernels/router-fold.js';
import { gpu, relL2 } from './helpers.js';
import { refForward, TINY, tinyWeights } from './tiny-model.js';

// Awkward sizes: H = 160 (20 GEMV rows of 8, 5 MXFP4 blocks), 5 experts with 2 per token, 2 query heads on 1 K/V head.
const ODD: GptOssConfig = {
  ...TINY,
  hiddenSize: 160,
  intermediateSize: 96,
  numExperts: 5,
  expertsPerToken: 2,
  numAttentionHeads: 2,
  numKeyValueHeads: 1,
};

describe('router folded into the decode GEMVs and mlp1 (GPU kernel shapes)', () => {
  test('layout: regions in order, g⊙h vec4-aligned', () => {
    const L = routerFoldLayout(5, 160);
    expect(L.nsq).toBe(20);
    expect([L.base, L.num, L.sq]).toEqual([0, 40, 80]);
    expect(L.hg % 4).toBe(0);
    expect(L.hg).toBeGreaterThanOrEqual(L.sq + 8 * L.nsq);
    expect(L.total).toBe(L.hg + 8 * 160);
  });

  test.each([
    ['TINY', TINY],
    ['H=160, 5 experts, 2 heads', ODD],
  ] as const)('%s: short prefill, single and batched decode match the reference and the unfolded router', async (_n, cfg) => {
    const ctx = await gpu('gpu');
    if (!ctx) return;
    // The f32 path is held to 1e-4 like the other GPU-shape checks; an adapter with shader-f16 runs the f16 path.
    const tol = ctx.caps.f16 ? 2e-2 : 1e-4;
    const w = tinyWeights(cfg, 5);
    const tokens = [7, 300, 12, 999, 41, 5, 77, 640];
    const want = refForward(cfg, w.values, tokens);
    const V = cfg.vocabSize;
    const run = async (routerFold: boolean) => {
      const m = await GptOssGpu.load(ctx, cfg, w.source, { maxContext: 16, maxBatch: 2, prefillChunk: 8, routerFold });
      const a = m.createSequence();
      const b = m.createSequence();
      // Five rows: the prefill itself takes the per-token kernels, and with them the fold.
      const pre = await m.prefill(a, tokens.slice(0, 5), { logits: 'all' });
      await m.prefill(b, tokens.slice(0, 3), { logits: 'none' });
      const one = await m.decode([{ sequence: a, token: tokens[5] }]);
      const dispatches = m.lastDispatches;
      const two = await m.decode([
        { sequence: a, token: tokens[6] },
        { sequence: b, token: tokens[3] },
      ]);
      m.dispose();
      return { pre, one, two, dispatches };
    };
    const folded = await run(true);
    const plain = await run(false);
    for (const r of [folded, plain]) {
      expect(relL2(r.pre, want.subarray(0, 5 * V))).toBeLessThan(tol);
      expect(relL2(r.one, want.subarray(5 * V, 6 * V))).toBeLessThan(tol);
      expect(relL2(r.two.subarray(0, V), want.subarray(6 * V, 7 * V))).toBeLessThan(tol);
      expect(relL2(r.two.subarray(V), want.subarray(3 * V, 4 * V))).toBeLessThan(tol);
    }
    // The same function by another route: both stay within rounding of each other.
    expect(relL2(folded.one, plain.one)).toBeLessThan(tol);
    // One dispatch per layer less (the router GEMV's).
    expect(folded.dispatches).toBe(plain.dispatches - cfg.numHiddenLayers);
  });

  test('the fold needs its weights: switching it on after a load without them says so', async () => {
    const ctx = await gpu('gpu');
    if (!ctx) return;
    const w = tinyWeights(TINY, 2);
    const m = await GptOssGpu.load(ctx, TINY, w.source, { maxContext: 8 });
    expect(() => m.setRouterFold(true)).toThrow(/routerFold: true/);
    m.dispose();
  });
});
