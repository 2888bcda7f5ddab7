import { beforeAll, describe, expect, test } from 'vitest';
import { GptOssGpu } from '../src/model/gpt-oss.js';
import { gpu, relL2 } from './helpers.js';
import { refForward, TINY, tinyWeights } from './tiny-model.js';

describe('GptOssGpu on a tiny random checkpoint', () => {
  const w = tinyWeights(TINY);
  const tokens = Array.from({ length: 23 }, (_, i) => (i * 37 + 11) % TINY.vocabSize);
  let want: Float32Array;
  let model: GptOssGpu | null = null;
  const V = TINY.vocabSize;
  beforeAll(async () => {
    want = refForward(TINY, w.values, tokens);
    const ctx = await gpu();
    if (ctx) model = await GptOssGpu.load(ctx, TINY, w.source, { maxContext: 64, maxBatch: 3, prefillChunk: 10 });
  });

  test('prefill (chunks of 10, past the sliding window) matches the reference at every position', async () => {
    if (!model) return;
    const seq = model.createSequence();
    const got = await model.prefill(seq, tokens, { logits: 'all' });
    for (let t = 0; t < tokens.length; t++) {
      expect(relL2(got.subarray(t * V, (t + 1) * V), want.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
    }
    seq.dispose();
  });

  test('decode after a prefix equals the reference; batched decode equals single', async () => {
    if (!model) return;
    const a = model.createSequence();
    const b = model.createSequence(40);
    await model.prefill(a, tokens.slice(0, 17), { logits: 'none' });
    await model.prefill(b, tokens.slice(0, 5), { logits: 'last' });
    const both = await model.decode([
      { sequence: a, token: tokens[17] },
      { sequence: b, token: tokens[5] },
    ]);
    expect(relL2(both.subarray(0, V), want.subarray(17 * V, 18 * V))).toBeLessThan(1e-4);
    expect(relL2(both.subarray(V, 2 * V), want.subarray(5 * V, 6 * V))).toBeLessThan(1e-4);
    const one = await model.decode([{ sequence: a, token: tokens[18] }]);
    expect(relL2(one, want.subarray(18 * V, 19 * V))).toBeLessThan(1e-4);
    expect(model.lastDispatches).toBeGreaterThan(0);
    // prefix reuse: truncate then continue from the shorter prefix
    a.truncate(9);
    const again = await model.prefill(a, tokens.slice(9, 12), { logits: 'last' });
    expect(relL2(again, want.subarray(11 * V, 12 * V))).toBeLessThan(1e-4);
    a.dispose();
    b.dispose();
  });

  test('decodeSample greedy picks the argmax of the logits', async () => {
    if (!model) return;
    const s = model.createSequence();
    await model.prefill(s, tokens.slice(0, 6), { logits: 'none' });
    const [tok] = await model.decodeSample([{ sequence: s, token: tokens[6] }], { temperature: 0 });
    const row = want.subarray(6 * V, 7 * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    expect(tok).toBe(best);
    s.dispose();
  });
});

describe('GptOssGpu with the GPU kernel shapes (workgroup-cooperative, split-K attention)', () => {
  // Prefill chunks of 4 and 2 tokens: with the minimum at 2 they take the grouped-by-expert MoE (tiled or register
  // form); decode keeps the per-token kernels.
  test.each([
    { groupedMoeTiled: true, prefillGemmMinTokens: 2 },
    { groupedMoeTiled: false, prefillGemmMinTokens: Infinity },
    // An f16 K/V cache (kvCache 'f16'; here with the f32 kernels): written by ropeKv in prefill and by the attention
    // in decode. Its rounding (2^-11 per value) bounds the tolerance.
    { groupedMoeTiled: true, prefillGemmMinTokens: 2, kvCache: 'f16' as const },
  ])('short prefill + decode match the reference (%o)', async (variant) => {
    const tol = variant.kvCache === 'f16' ? 5e-3 : 1e-4;
    const ctx = await gpu('gpu');
    if (!ctx) return;
    const w = tinyWeights(TINY, 3);
    const tokens = [5, 900, 17, 17, 256, 3, 999];
    const want = refForward(TINY, w.values, tokens);
    const V = TINY.vocabSize;
    // groupedMoeMinTokens 2: the prefill chunks (4 and 2 tokens) take the grouped-by-expert MoE, decode the per-token one.
    const model = await GptOssGpu.load(ctx, TINY, w.source, {
      maxContext: 16,
      prefillChunk: 4,
      attentionTokens: 3,
      groupedMoeMinTokens: 2,
      ...variant,
    });
    const s = model.createSequence();
    const got = await model.prefill(s, tokens.slice(0, 6), { logits: 'all' });
    expect(relL2(got, want.subarray(0, 6 * V))).toBeLessThan(tol);
    const d = await model.decode([{ sequence: s, token: tokens[6] }]);
    expect(relL2(d, want.subarray(6 * V))).toBeLessThan(tol);
    model.dispose();
  });
});

describe('GptOssGpu decode past 1024 positions (GPU shapes: five key splits and the combine)', () => {
  test('decode at positions 1026 and 1027 matches the reference', async () => {
    const ctx = await gpu('gpu');
    if (!ctx) return;
    const w = tinyWeights(TINY, 5);
    const tokens = Array.from({ length: 1028 }, (_, i) => (i * 613 + 29) % TINY.vocabSize);
    const want = refForward(TINY, w.values, tokens);
    const V = TINY.vocabSize;
    const model = await GptOssGpu.load(ctx, TINY, w.source, { maxContext: 1040, prefillChunk: 256 });
    const s = model.createSequence();
    await model.prefill(s, tokens.slice(0, 1026), { logits: 'none' });
    for (let t = 1026; t < 1028; t++) {
      const d = await model.decode([{ sequence: s, token: tokens[t] }]);
      expect(relL2(d, want.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
    }
    model.dispose();
  }, 120_000);
});

describe('GptOssGpu.generate (loop on the GPU)', () => {
  test('greedy generate equals step-by-step decode', async () => {
    const ctx = await gpu();
    if (!ctx) return;
    const w = tinyWeights(TINY, 5);
    const model = await GptOssGpu.load(ctx, TINY, w.source, { maxContext: 40, prefillChunk: 8 });
    const prompt = [3, 14, 15, 92, 65];
    const a = model.createSequence();
    await model.prefill(a, prompt.slice(0, -1), { logits: 'none' });
    const got: number[] = [];
    for await (const id of model.generate(a, prompt[prompt.length - 1], 12, { temperature: 0 }, { depth: 3 })) got.push(id);
    const b = model.createSequence();
    await model.prefill(b, prompt.slice(0, -1), { logits: 'none' });
    const want: number[] = [];
    let tok = prompt[prompt.length - 1];
    for (let i = 0; i < 12; i++) {
      const l = await model.decode([{ sequence: b, token: tok }]);
      let best = 0;
      for (let j = 1; j < l.length; j++) if (l[j] > l[best]) best = j;
      want.push(best);
      tok = best;
    }
    expect(got).toEqual(want);
    expect(a.tokens).toEqual(b.tokens.slice(0, a.tokens.length));
    expect(a.length).toBe(prompt.length - 1 + 12);
    // Readbacks mapped at once (as in browsers) instead of paced by a timer: the same tokens.
    expect(ctx.pacedReadback).toBe(true);
    ctx.pacedReadback = false;
    try {
      const c = model.createSequence();
      await model.prefill(c, prompt.slice(0, -1), { logits: 'none' });
      const unpaced: number[] = [];
      for await (const id of model.generate(c, prompt[prompt.length - 1], 12, { temperature: 0 })) unpaced.push(id);
      expect(unpaced).toEqual(want);
    } finally {
      ctx.pacedReadback = true;
    }
    model.dispose();
  });

  test('generateTokens yields each pick with its log-softmax, sampled or greedy, and stops where asked', async () => {
    const ctx = await gpu();
    if (!ctx) return;
    const w = tinyWeights(TINY, 6);
    const model = await GptOssGpu.load(ctx, TINY, w.source, { maxContext: 40, prefillChunk: 8 });
    const prompt = [7, 1, 8, 2, 8];
    const logSoftmax = (l: Float32Array, i: number) => {
      let mx = -Infinity;
      for (const v of l) mx = Math.max(mx, v);
      let z = 0;
      for (const v of l) z += Math.exp(v - mx);
      return l[i] - mx - Math.log(z);
    };
    for (const sampling of [{ temperature: 0 }, { temperature: 0.8, topP: 0.9, seed: 42 }]) {
      const a = model.createSequence();
      await model.prefill(a, prompt.slice(0, -1), { logits: 'none' });
      const got: { id: number; logprob: number }[] = [];
      for await (const t of model.generateTokens(a, prompt[prompt.length - 1], 8, sampling)) got.push(t);
      expect(got).toHaveLength(8);
      // Replay the same tokens step by step: each logprob is the log-softmax of that step's logits at the pick.
      const b = model.createSequence();
      await model.prefill(b, prompt.slice(0, -1), { logits: 'none' });
      let tok = prompt[prompt.length - 1];
      for (const t of got) {
        const l = await model.decode([{ sequence: b, token: tok }]);
        expect(Math.abs(t.logprob - logSoftmax(l, t.id))).toBeLessThan(1e-4);
        tok = t.id;
      }
      a.dispose();
      b.dispose();
    }
    // stop: ends right after the first id it accepts; the sequence holds first + the ids before it.
    const c = model.createSequence();
    await model.prefill(c, prompt.slice(0, -1), { logits: 'none' });
    const all: number[] = [];
    for await (const id of model.generate(c, prompt[prompt.length - 1], 8, { temperature: 0 })) all.push(id);
    const d = model.createSequence();
    await model.prefill(d, prompt.slice(0, -1), { logits: 'none' });
    const stopAt = all[3];
    const some: number[] = [];
    for await (const id of model.generate(d, prompt[prompt.length - 1], 8, { temperature: 0 }, { stop: (id) => id === stopAt })) some.push(id);
    expect(some).toEqual(all.slice(0, all.indexOf(stopAt) + 1));
    expect(d.length).toBe(prompt.length - 1 + some.length);
    model.dispose();
  });
});
