import { describe, expect, test } from 'vitest';
import { actExp, prescaleExp } from '../src/model/gpt-oss.js';
import { randn, rng } from './helpers.js';

// The raw MXFP4 decode of the f16 path takes its inputs prescaled by 2^k; k must keep every input within half of
// f16's range (65504) whatever the token.
describe('prescale exponents of the raw MXFP4 decode', () => {
  test('the largest power of two that keeps the bound at or under 2^15, clamped to [-14, 14]', () => {
    for (const bound of [1e-9, 0.3, 1, 1.5, 53.66, 56, 1000, 32768, 40000, 1e9]) {
      const k = prescaleExp(bound);
      expect(Number.isInteger(k)).toBe(true);
      if (k > -14 && k < 14) {
        expect(bound * 2 ** k).toBeLessThanOrEqual(32768);
        expect(bound * 2 ** (k + 1)).toBeGreaterThan(32768);
      }
    }
    expect(prescaleExp(Math.sqrt(2880))).toBe(9);
    expect(prescaleExp(1e-9)).toBe(14);
    expect(prescaleExp(1e9)).toBe(-14);
    expect(prescaleExp(0)).toBe(14);
    expect(prescaleExp(Number.NaN)).toBe(14);
    expect(prescaleExp(Number.POSITIVE_INFINITY)).toBe(-14);
  });

  test("mlp2's input: the clamped SwiGLU is bounded by limit·(limit + 1)", () => {
    expect(actExp(7)).toBe(9);
    const alpha = 1.702;
    const L = 7;
    let worst = 0;
    for (let g = -50; g <= 50; g += 0.01) {
      for (const l of [-50, -L, 0, L, 50]) {
        const gate = Math.min(g, L);
        const lin = Math.min(Math.max(l, -L), L);
        worst = Math.max(worst, Math.abs((gate / (1 + Math.exp(-alpha * gate))) * (lin + 1)));
      }
    }
    expect(worst).toBeLessThanOrEqual(L * (L + 1));
    expect(worst * 2 ** actExp(L)).toBeLessThanOrEqual(32768);
  });

  test("mlp1's input: |x/rms(x)·gain| <= sqrt(H)·max|gain|, so 2^xnExp times it fits", () => {
    const H = 2880;
    const r = rng(3);
    const gain = randn(H, r, 4);
    let mg = 0;
    for (const g of gain) mg = Math.max(mg, Math.abs(g));
    const k = prescaleExp(Math.sqrt(H) * mg);
    const xs = [randn(H, r, 1000), Float32Array.from({ length: H }, (_, i) => (i === 17 ? 1e6 : 0))];
    for (const x of xs) {
      let ss = 0;
      for (const v of x) ss += v * v;
      const inv = 1 / Math.sqrt(ss / H + 1e-5);
      for (let i = 0; i < H; i++) expect(Math.abs(x[i] * inv * gain[i]) * 2 ** k).toBeLessThanOrEqual(32768 * (1 + 1e-6));
    }
  });
});
