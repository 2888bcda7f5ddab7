import { describe, expect, test } from 'vitest';
import { Sampler } from './sampling.js';
import { InvalidArgumentError } from './errors.js';

const logits = new Float32Array([1, 3, 2, 0.5, 2.9, -1]);

function freq(s: Sampler, n = 4000): number[] {
  const c = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) c[s.sample(logits).token]++;
  return c.map((x) => x / n);
}

describe('Sampler', () => {
  test('greedy picks the argmax and reports log_softmax of the raw logits', () => {
    const s = new Sampler({ temperature: 0, topLogprobs: 3 });
    const r = s.sample(logits);
    expect(r.token).toBe(1);
    const lse = Math.log([...logits].reduce((a, x) => a + Math.exp(x), 0));
    expect(r.logprob).toBeCloseTo(3 - lse, 5);
    expect(r.topLogprobs!.map((t) => t.token)).toEqual([1, 4, 2]);
  });

  test('temperature 1 samples the softmax distribution', () => {
    const f = freq(new Sampler({ seed: 1 }));
    const z = [...logits].reduce((a, x) => a + Math.exp(x), 0);
    [...logits].forEach((x, i) => expect(f[i]).toBeCloseTo(Math.exp(x) / z, 1));
  });

  test('same seed, same tokens; different seed, different tokens', () => {
    const a = Array.from({ length: 50 }, ((s) => () => s.sample(logits).token)(new Sampler({ seed: 5 })));
    const b = Array.from({ length: 50 }, ((s) => () => s.sample(logits).token)(new Sampler({ seed: 5 })));
    const c = Array.from({ length: 50 }, ((s) => () => s.sample(logits).token)(new Sampler({ seed: 6 })));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test('top-k keeps the k most likely', () => {
    const f = freq(new Sampler({ seed: 2, topK: 2 }));
    expect(f[1] + f[4]).toBe(1);
    expect(f[1]).toBeGreaterThan(0.4);
    expect(f[4]).toBeGreaterThan(0.4);
  });

  test('top-p keeps the smallest nucleus reaching p', () => {
    // probs ≈ [.054, .399, .147, .033, .361, .007]: .399 + .361 = .76 ≥ .75
    const f = freq(new Sampler({ seed: 3, topP: 0.75 }));
    expect(f[1] + f[4]).toBe(1);
    const g = freq(new Sampler({ seed: 3, topP: 0.3 }));
    expect(g[1]).toBe(1);
  });

  test('top-p orders ties by the lower token id, also over a flat vocabulary-sized distribution', () => {
    const tie = new Sampler({ seed: 5, topP: 0.3 });
    for (let i = 0; i < 20; i++) expect(tie.sample(Float32Array.from([1, 3, 3, 0])).token).toBe(1);
    // 200k equal logits: the nucleus of p = 0.25 is exactly the first quarter of the ids.
    const flat = new Float32Array(200_000);
    const s = new Sampler({ seed: 6, topP: 0.25 });
    const got = Array.from({ length: 30 }, () => s.sample(flat).token);
    for (const t of got) expect(t).toBeLessThan(50_000);
    expect(new Set(got).size).toBeGreaterThan(20);
  });

  test('min-p drops tokens below minP × top probability', () => {
    const f = freq(new Sampler({ seed: 4, minP: 0.3 }));
    expect(f[0] + f[3] + f[5]).toBe(0);
    expect(f[2]).toBeGreaterThan(0.1);
  });

  test('low temperature sharpens, high temperature flattens', () => {
    expect(freq(new Sampler({ seed: 5, temperature: 0.05 }))[1]).toBeGreaterThan(0.85);
    expect(freq(new Sampler({ seed: 5, temperature: 10 }))[5]).toBeGreaterThan(0.08);
  });

  test('invalid options are rejected', () => {
    expect(() => new Sampler({ topP: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature must be in/);
  });
});
