import { describe, expect, test } from 'vitest';
import { rmsNorm, rmsNormProgram } from '../src/kernels/rmsnorm.js';
import { sample, sampleCandidatesFor, samplePartialsPrograms, samplePartsBytes, sampleProgram, sampleUniform } from '../src/kernels/sample.js';
import { gpu, poison, randn, relL2, rng } from './helpers.js';
import { refRmsNorm } from './reference.js';

describe('rmsNorm', () => {
  test('3 rows of 2880 with row offsets', async () => {
    const ctx = await gpu();
    if (!ctx) return;
    const r = rng(1);
    const K = 2880;
    const x = randn(4 * K, r, 3);
    const gain = randn(K, r);
    const want = refRmsNorm(x.subarray(K), gain, 3, K, 1e-5);
    const out = ctx.upload(poison(3 * K));
    const rec = ctx.begin();
    rmsNorm(rec, rmsNormProgram(ctx.caps, K), { x: ctx.upload(x), gain: ctx.upload(gain), out, rows: 3, xRow0: 1 });
    rec.submit();
    expect(relL2(await ctx.readF32(out, 3 * K), want)).toBeLessThan(1e-6);
  });
});

describe('sample', () => {
  const V = 1234;
  const modes = [
    { T: 0, topK: 0, topP: 1 },
    { T: 1, topK: 0, topP: 1 },
    { T: 0.7, topK: 5, topP: 1 },
    { T: 1, topK: 0, topP: 0.5 },
    { T: 1.3, topK: 40, topP: 0.9 },
  ];
  // Without the candidate list; with lists of several sizes (the smallest too small for top-p 0.9 over flat logits:
  // the full passes run); and spread logits (±40).
  const lists = [
    { C: 0, scale: 4 },
    { C: 1536, scale: 4 },
    { C: 512, scale: 4 },
    { C: 256, scale: 4 },
    { C: 1536, scale: 40 },
  ];
  // -1: the largest list this adapter's workgroup memory holds (what the model uses).
  lists.push({ C: -1, scale: 40 });
  for (const m of modes) for (const { C: C0, scale } of lists) {
    if (m.T === 0 && C0 !== 0) continue;
    test(`T=${m.T} topK=${m.topK} topP=${m.topP}, ${C0 < 0 ? 'the most' : C0} candidates, logits ±${scale}`, async () => {
      const ctx = await gpu();
      if (!ctx) return;
      const C = C0 < 0 ? sampleCandidatesFor(ctx.caps.maxWorkgroupStorage, 256) : C0;
      const r = rng(V + m.topK);
      const rows = 3;
      const logits = randn(rows * V, r, scale);
      const lb = ctx.upload(logits);
      const tokens = ctx.upload(new Uint32Array(rows * 8).fill(0xffffffff));
      const prog = sampleProgram(V, 256, C);
      const rec = ctx.begin();
      const draws = 6;
      for (let d = 0; d < draws; d++) {
        sample(rec, prog, {
          logits: lb,
          tokens,
          rows,
          outIndex: d * rows,
          temperature: m.T,
          topK: m.topK,
          topP: m.topP,
          seed: 42,
          counter: 100 + d,
        });
      }
      rec.submit();
      const got = await ctx.readU32(tokens, rows * draws);
      expect(refMismatches(got, logits, V, rows, draws, m, 42, 100)).toBeLessThanOrEqual(m.T === 0 ? 0 : 1);
    });
  }
});

describe('sample with the vocabulary passes spread over workgroups', () => {
  // Greedy and plain temperature draws finish from the partial records: the same picks as the one-workgroup passes
  // (and the reference), ties included, and log-probabilities within rounding.
  for (const [V, T, ties, topK, topP] of [
    [1234, 0, false, 0, 1],
    [1234, 1, false, 0, 1],
    [5000, 0.8, false, 0, 1],
    [5000, 0, true, 0, 1],
    [3000, 1.5, true, 0, 1],
    // top-k / top-p: the maximum, Σ exp and the histogram come from the records.
    [5000, 0.7, false, 5, 1],
    [5000, 1, false, 0, 0.5],
    [3000, 1.3, true, 40, 0.9],
  ] as const) {
    test(`V=${V} T=${T}${topK ? ` top-k ${topK}` : ''}${topP < 1 ? ` top-p ${topP}` : ''}${ties ? ' with tied maxima across slices' : ''}`, async () => {
      const ctx = await gpu();
      if (!ctx) return;
      const r = rng(V + 17);
      const rows = 3;
      const logits = randn(rows * V, r, 4);
      if (ties) for (let row = 0; row < rows; row++) for (const i of [V - 3, 5, Math.floor(V / 2)]) logits[row * V + i] = 9;
      const lb = ctx.upload(logits);
      const draws = 5;
      const pp = samplePartialsPrograms(V);
      expect(pp.groups).toBeGreaterThan(1);
      const parts = ctx.createBuffer(samplePartsBytes(pp, rows));
      const prog = sampleProgram(V, 256, sampleCandidatesFor(ctx.caps.maxWorkgroupStorage, 256));
      const run = async (partials: boolean) => {
        const tokens = ctx.upload(new Uint32Array(2 * rows * draws).fill(0xffffffff));
        const rec = ctx.begin();
        for (let d = 0; d < draws; d++) {
          sample(rec, prog, {
            logits: lb,
            tokens,
            rows,
            outIndex: d * rows,
            logprobIndex: (draws + d) * rows,
            temperature: T,
            topK,
            topP,
            seed: 7,
            counter: 300 + d,
            partials: partials ? { programs: pp, parts } : undefined,
          });
        }
        rec.submit();
        const u = await ctx.readU32(tokens, 2 * rows * draws);
        return { ids: Array.from(u.subarray(0, rows * draws)), lp: new Float32Array(u.buffer.slice(rows * draws * 4)) };
      };
      const one = await run(false);
      const spread = await run(true);
      // Σ exp(z) summed in another order can move a top-p threshold that sits on a token: at most one pick apart.
      let apart = 0;
      for (let i = 0; i < one.ids.length; i++) if (spread.ids[i] !== one.ids[i]) apart++;
      expect(apart).toBeLessThanOrEqual(topP < 1 ? 1 : 0);
      for (let i = 0; i < one.lp.length; i++) if (spread.ids[i] === one.ids[i]) expect(Math.abs(spread.lp[i] - one.lp[i])).toBeLessThan(1e-4);
      expect(refMismatches(spread.ids, logits, V, rows, draws, { T, topK, topP }, 7, 300)).toBeLessThanOrEqual(T === 0 ? 0 : 1);
    });
  }
});

/** Picks (draw d of row r at d·rows + r, counters counter0 + d) that differ from the reference draw. */
function refMismatches(
  got: ArrayLike<number>,
  logits: Float32Array,
  V: number,
  rows: number,
  draws: number,
  m: { T: number; topK: number; topP: number },
  seed: number,
  counter0: number,
): number {
  let n = 0;
  for (let d = 0; d < draws; d++)
    for (let row = 0; row < rows; row++) {
      if (got[d * rows + row] !== refSampleRow(logits.subarray(row * V, (row + 1) * V), m, seed, counter0 + d, row)) n++;
    }
  return n;
}

/** Reference draw: rows use counter + row·0x9E3779B9, as the shader does. */
function refSampleRow(
  l: Float32Array,
  m: { T: number; topK: number; topP: number },
  seed: number,
  counter: number,
  row: number,
): number {
  let amax = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[amax]) amax = i;
  if (m.T === 0) return amax;
  const z = Array.from(l, (v) => (v - l[amax]) / m.T);
  const sorted = [...z].sort((a, b) => b - a);
  let thr = -Infinity;
  if (m.topK > 0) thr = sorted[m.topK - 1];
  if (m.topP < 1) {
    const total = z.reduce((a, v) => a + Math.exp(v), 0);
    let acc = 0;
    for (const v of sorted) {
      acc += Math.exp(v);
      if (acc >= m.topP * total) {
        thr = Math.max(thr, v);
        break;
      }
    }
  }
  let best = -Infinity;
  let bi = -1;
  const rowCounter = (counter + Math.imul(row, 0x9e3779b9)) >>> 0;
  for (let i = 0; i < l.length; i++) {
    if (z[i] < thr - 1e-6) continue;
    const v = z[i] - Math.log(-Math.log(sampleUniform(seed, rowCounter, i)));
    if (v > best) {
      best = v;
      bi = i;
    }
  }
  return bi;
}
