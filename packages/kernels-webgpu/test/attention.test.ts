import { describe, expect, test } from 'vitest';
import {
  attention,
  attentionCombineProgram,
  attentionProgram,
  attentionSplits,
  ropeKv,
  ropeKvProgram,
} from '../src/kernels/attention.js';
import { f16Bits, f16Value, gpu, SHAPES, poison, randn, relL2, rng } from './helpers.js';
import { refAttention, refRope, refRopeTable } from './reference.js';

const yarn = { theta: 150000, factor: 32, alpha: 1, beta: 32, L0: 4096 };

describe('attention (sinks, sliding window, GQA, split-K)', () => {
  const cases = [
    { NQ: 8, NKV: 2, D: 64, pos0: 5, tokens: 1, window: 0, label: 'decode, short' },
    { NQ: 8, NKV: 2, D: 64, pos0: 600, tokens: 1, window: 0, label: 'decode, 3 splits' },
    { NQ: 8, NKV: 2, D: 64, pos0: 300, tokens: 1, window: 128, label: 'decode, window' },
    { NQ: 6, NKV: 3, D: 32, pos0: 250, tokens: 11, window: 0, label: 'prefill chunk across a split edge' },
    { NQ: 8, NKV: 1, D: 64, pos0: 0, tokens: 9, window: 4, label: 'prefill from 0, tiny window' },
    // Smaller key chunks per workgroup (decode's setting): more splits, a partial last chunk.
    { NQ: 8, NKV: 2, D: 64, pos0: 150, tokens: 1, window: 0, label: 'decode, 32-key chunks', chunk: 32 },
    // 38 splits: the combine's 16 slices merge two or three each.
    { NQ: 8, NKV: 2, D: 64, pos0: 1200, tokens: 1, window: 0, label: 'decode, 38 splits', chunk: 32 },
    { NQ: 8, NKV: 2, D: 64, pos0: 300, tokens: 1, window: 128, label: 'decode, window, 64-key chunks', chunk: 64 },
    { NQ: 6, NKV: 3, D: 32, pos0: 250, tokens: 3, window: 0, label: 'prefill, 128-key chunks', chunk: 128 },
  ] as { NQ: number; NKV: number; D: number; pos0: number; tokens: number; window: number; label: string; chunk?: number }[];
  // GPU shape: all heads of a KV head per workgroup; 1 head per workgroup with the K/V loads up front (the model's
  // narrow variant); all heads with the loads up front.
  // An f16 cache (kvCache 'f16') in both variants.
  const modes = {
    plain: [false, false, false],
    narrow: [true, true, false],
    prefetch: [false, true, false],
    half: [false, false, true],
    narrowHalf: [true, true, true],
  } as const;
  const gpuModes = ['plain', 'narrow', 'prefetch', 'half', 'narrowHalf'] as const;
  for (const shape of SHAPES) for (const mode of shape === 'gpu' ? gpuModes : (['plain'] as const)) for (const c of cases) {
    const [narrow, prefetch, half] = modes[mode];
    test(`[${shape}${narrow ? ', 1 head per workgroup' : ''}${prefetch ? ', K/V prefetch' : ''}${half ? ', f16 cache' : ''}] ${c.label}: NQ=${c.NQ} NKV=${c.NKV} D=${c.D} pos0=${c.pos0} tokens=${c.tokens} window=${c.window}`, async () => {
      const ctx = await gpu(shape);
      if (!ctx) return;
      const r = rng(c.pos0 + c.tokens * 31 + c.D);
      const cap = c.pos0 + c.tokens + 3;
      const QKVW = (c.NQ + 2 * c.NKV) * c.D;
      const rowsBefore = 2;
      const qkv = randn((rowsBefore + c.tokens) * QKVW, r);
      const table = refRopeTable(cap, c.D, yarn);
      const sinks = randn(c.NQ, r, 2);
      // cache: earlier positions already hold rotated keys and values
      const keys = randn(cap * c.NKV * c.D, r);
      const values = randn(cap * c.NKV * c.D, r);
      const cacheInit = new Float32Array(2 * cap * c.NKV * c.D);
      cacheInit.set(keys.subarray(0, c.pos0 * c.NKV * c.D));
      cacheInit.set(values.subarray(0, c.pos0 * c.NKV * c.D), cap * c.NKV * c.D);
      // new tokens' K/V come from qkv
      for (let t = 0; t < c.tokens; t++) {
        const row = rowsBefore + t;
        const pos = c.pos0 + t;
        for (let g = 0; g < c.NKV; g++) {
          const k = qkv.slice(row * QKVW + (c.NQ + g) * c.D, row * QKVW + (c.NQ + g + 1) * c.D);
          refRope(k, 0, c.D, table, pos);
          keys.set(k, (pos * c.NKV + g) * c.D);
          values.set(
            qkv.subarray(row * QKVW + (c.NQ + c.NKV + g) * c.D, row * QKVW + (c.NQ + c.NKV + g + 1) * c.D),
            (pos * c.NKV + g) * c.D,
          );
        }
      }
      // An f16 cache holds the keys and values rounded to f16: the reference attends to those.
      if (half) {
        for (const a of [keys, values]) for (let i = 0; i < a.length; i++) a[i] = f16Value(f16Bits(a[i]));
      }
      const want = new Float32Array((rowsBefore + c.tokens) * c.NQ * c.D).fill(Number.NaN);
      for (let t = 0; t < c.tokens; t++) {
        const row = rowsBefore + t;
        const q = qkv.slice(row * QKVW, row * QKVW + c.NQ * c.D);
        for (let h = 0; h < c.NQ; h++) refRope(q, h * c.D, c.D, table, c.pos0 + t);
        want.set(
          refAttention(q, keys, values, sinks, c.NQ, c.NKV, c.D, c.pos0 + t, c.window),
          row * c.NQ * c.D,
        );
      }
      const s = { NQ: c.NQ, NKV: c.NKV, D: c.D };
      const kv = ctx.upload(half ? packF16Pairs(cacheInit) : cacheInit);
      const out = ctx.upload(poison(want.length));
      const qkvB = ctx.upload(qkv);
      const ropeB = ctx.upload(table);
      const splits = attentionSplits(c.pos0 + c.tokens - 1, c.window, c.chunk);
      const rec = ctx.begin();
      const decode = c.tokens === 1;
      if (!decode) {
        ropeKv(rec, ropeKvProgram(s, half), { qkv: qkvB, kv, rope: ropeB, cap, row0: rowsBefore, pos0: c.pos0, tokens: c.tokens });
      }
      const progs = {
        attention: attentionProgram(ctx.caps, s, undefined, c.chunk, prefetch && !narrow, half),
        combine: attentionCombineProgram(s, c.chunk),
        ropeKv: ropeKvProgram(s),
        attentionNarrow: narrow ? attentionProgram(ctx.caps, s, 1, c.chunk, prefetch, half) : undefined,
      };
      attention(rec, progs, s, {
        qkv: qkvB,
        kv,
        cap,
        rope: ropeB,
        sinks: ctx.upload(sinks),
        out,
        part: ctx.upload(poison(c.tokens * c.NQ * splits * (c.D + 4))),
        row0: rowsBefore,
        pos0: c.pos0,
        tokens: c.tokens,
        window: c.window,
        writeKV: decode,
      });
      rec.submit();
      const got = await ctx.readF32(out, want.length);
      const off = rowsBefore * c.NQ * c.D;
      // f16 cache: the new tokens attend to their own K/V in f32 (the reference to the rounded ones).
      expect(relL2(got.subarray(off), want.subarray(off))).toBeLessThan(half ? 1e-3 : 2e-5);
      const cache = half
        ? unpackF16Pairs(await ctx.readU32(kv, cacheInit.length / 2))
        : await ctx.readF32(kv, cacheInit.length);
      const n = (c.pos0 + c.tokens) * c.NKV * c.D;
      expect(relL2(cache.subarray(0, n), keys.subarray(0, n))).toBeLessThan(half ? 1e-3 : 1e-6);
      expect(relL2(cache.subarray(cap * c.NKV * c.D, cap * c.NKV * c.D + n), values.subarray(0, n))).toBeLessThan(half ? 1e-6 : 1e-7);
    });
  }
});

/** Consecutive value pairs as f16 in one u32 (low half first): the f16 K/V cache's layout. */
function packF16Pairs(a: Float32Array): Uint32Array {
  const out = new Uint32Array(a.length / 2);
  for (let m = 0; m < out.length; m++) out[m] = (f16Bits(a[2 * m]) | (f16Bits(a[2 * m + 1]) << 16)) >>> 0;
  return out;
}

function unpackF16Pairs(u: Uint32Array): Float32Array {
  const out = new Float32Array(u.length * 2);
  for (let m = 0; m < u.length; m++) {
    out[2 * m] = f16Value(u[m] & 0xffff);
    out[2 * m + 1] = f16Value(u[m] >>> 16);
  }
  return out;
}
