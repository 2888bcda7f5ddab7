import { describe, expect, test } from 'vitest';
import { gemvBf16, gemvBf16Program } from '../src/kernels/gemv-bf16.js';
import { GptOssGpu } from '../src/model/gpt-oss.js';
import { gpu, maxAbsDiff, poison, randn, relL2, rng, toBf16 } from './helpers.js';
import { refGemv } from './reference.js';
import { refForward, TINY, tinyWeights } from './tiny-model.js';

describe('StepRecorder dispatch plans (capture once, replay with patched parameters)', () => {
  test('a replayed GEMV reads the patched input row; slots, filters and unknown parameters are refused', async () => {
    const ctx = await gpu();
    if (!ctx) return;
    const r = rng(11);
    const N = 40;
    const K = 64;
    const W = toBf16(randn(N * K, r));
    const x = randn(3 * K, r);
    const w = ctx.upload(W.bits);
    const xb = ctx.upload(x);
    const out = ctx.upload(poison(N));
    const prog = gemvBf16Program(ctx.caps, { K, M: 1 });
    const args = { parts: [{ buffer: w, rowStart: 0, rows: N }], x: xb, out, outStride: N };
    const want = (row: number) => refGemv(W.values, x.subarray(row * K, (row + 1) * K), 1, N, K);

    const rec = ctx.begin();
    rec.beginCapture();
    rec.patchTag = { param: 'xRow0', tag: 7 };
    gemvBf16(rec, prog, { ...args, xRow0: 0 });
    const plan = rec.endCapture();
    rec.submit();
    expect(plan.entries.length).toBe(1);
    expect(plan.patches).toEqual([{ offset: 16, tag: 7 }]);
    expect(maxAbsDiff(await ctx.readF32(out, N), want(0))).toBeLessThan(1e-3 * Math.sqrt(K));

    for (const row of [2, 1]) {
      const again = ctx.begin();
      expect(again.canReplay(plan)).toBe(true);
      const tags: number[] = [];
      again.replay(plan, (tag) => {
        tags.push(tag);
        return row;
      });
      expect(again.dispatches).toBe(1);
      again.submit();
      expect(tags).toEqual([7]);
      expect(maxAbsDiff(await ctx.readF32(out, N), want(row))).toBeLessThan(1e-3 * Math.sqrt(K));
    }

    // Bind groups point at fixed parameter slots: a plan does not replay after other dispatches.
    const late = ctx.begin();
    gemvBf16(late, prog, args);
    expect(late.canReplay(plan)).toBe(false);
    expect(() => late.replay(plan, () => 0)).toThrow(/slot 0 replayed at slot 1/);
    late.discard();

    const bad = ctx.begin();
    bad.beginCapture();
    bad.patchTag = { param: 'position', tag: 0 };
    expect(() => gemvBf16(bad, prog, args)).toThrow(/no parameter position/);
    bad.discard();

    ctx.dispatchFilter = () => true;
    try {
      const filtered = ctx.begin();
      expect(filtered.canCapture).toBe(false);
      expect(filtered.canReplay(plan)).toBe(false);
      expect(() => filtered.beginCapture()).toThrow(/filtered or timed/);
      filtered.discard();
    } finally {
      ctx.dispatchFilter = null;
    }
  });
});

describe('GptOssGpu decode steps replayed from a plan', () => {
  // Both kernel shapes: each step after the first replays the captured one with its position patched, and must
  // still equal the reference; a kernel setter drops the plans.
  test.each(['cpu', 'gpu'] as const)('consecutive decode steps match the reference (%s shapes)', async (shapes) => {
    const ctx = await gpu(shapes);
    if (!ctx) return;
    const w = tinyWeights(TINY, 9);
    const tokens = Array.from({ length: 14 }, (_, i) => (i * 131 + 7) % TINY.vocabSize);
    const want = refForward(TINY, w.values, tokens);
    const V = TINY.vocabSize;
    const model = await GptOssGpu.load(ctx, TINY, w.source, { maxContext: 32, prefillChunk: 8 });
    const s = model.createSequence();
    await model.prefill(s, tokens.slice(0, 8), { logits: 'none' });
    for (let t = 8; t < tokens.length; t++) {
      if (t === 11) model.setDecodeChunk(null);
      const before = model.planReplays;
      const d = await model.decode([{ sequence: s, token: tokens[t] }]);
      // Steps 9, 10, 12 and 13 replay; 8 captures, and 11 captures again after the setter dropped the plans.
      expect(model.planReplays - before).toBe(t === 8 || t === 11 ? 0 : 1);
      expect(relL2(d, want.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
    }
    model.dispose();
  });
});
