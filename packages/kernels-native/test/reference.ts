// Plain TypeScript references of every kernel (SPEC §1), written for clarity, not speed. Tests compare the native
// kernels against these on random inputs of awkward sizes.

export const FP4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomF32(n: number, r: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function f32ToBf16(v: number): number {
  f32[0] = v;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
export function bf16ToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

export function randomBf16(n: number, r: () => number, scale = 1): Uint16Array {
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = f32ToBf16((r() * 2 - 1) * scale);
  return a;
}
export function bf16Array(a: Uint16Array): Float32Array {
  return Float32Array.from(a, bf16ToF32);
}

/** Random MXFP4 weights [rows, cols]: blocks [rows, cols/32, 16], scales [rows, cols/32] around 2^0. */
export function randomMxfp4(rows: number, cols: number, r: () => number) {
  const g = cols / 32;
  const blocks = new Uint8Array(rows * g * 16);
  for (let i = 0; i < blocks.length; i++) blocks[i] = Math.floor(r() * 256);
  const scales = new Uint8Array(rows * g);
  for (let i = 0; i < scales.length; i++) scales[i] = 127 - 4 + Math.floor(r() * 6);
  return { blocks, scales };
}

export function dequantMxfp4(blocks: Uint8Array, scales: Uint8Array, rows: number, cols: number): Float32Array {
  const g = cols / 32;
  const out = new Float32Array(rows * cols);
  for (let row = 0; row < rows; row++)
    for (let b = 0; b < g; b++) {
      // E8M0 0xFF is NaN (OCP MX v1.0), as @gptoss/mxfp4 decodes it.
      const s = scales[row * g + b] === 255 ? NaN : 2 ** (scales[row * g + b] - 127);
      for (let j = 0; j < 16; j++) {
        const byte = blocks[(row * g + b) * 16 + j];
        out[row * cols + b * 32 + 2 * j] = FP4[byte & 15] * s;
        out[row * cols + b * 32 + 2 * j + 1] = FP4[byte >> 4] * s;
      }
    }
  return out;
}

/** out[t, r] = Σ x[t,k] W[r,k] + b[r] (double accumulation). */
export function matmulRef(x: Float32Array, t: number, w: Float32Array, rows: number, k: number, bias?: Float32Array) {
  const out = new Float32Array(t * rows);
  for (let i = 0; i < t; i++)
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += x[i * k + j] * w[r * k + j];
      out[i * rows + r] = s + (bias ? bias[r] : 0);
    }
  return out;
}

export function swigluRef(h: Float32Array, t: number, rows: number, limit = 7, alpha = 1.702): Float32Array {
  const half = rows / 2;
  const out = new Float32Array(t * half);
  for (let i = 0; i < t; i++)
    for (let j = 0; j < half; j++) {
      const g = Math.min(h[i * rows + 2 * j], limit);
      const l = Math.max(-limit, Math.min(h[i * rows + 2 * j + 1], limit));
      out[i * half + j] = (g / (1 + Math.exp(-alpha * g))) * (l + 1);
    }
  return out;
}

export function rmsnormRef(x: Float32Array, t: number, n: number, scale: Float32Array, eps = 1e-5) {
  const out = new Float32Array(t * n);
  for (let i = 0; i < t; i++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[i * n + j] ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let j = 0; j < n; j++) out[i * n + j] = x[i * n + j] * inv * scale[j];
  }
  return out;
}

export function yarn(headDim = 64, base = 150000, factor = 32, alpha = 1, beta = 32, ctx = 4096) {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  const conc = factor > 1 ? 0.1 * Math.log(factor) + 1 : 1;
  const low = (half * Math.log(ctx / (beta * 2 * Math.PI))) / Math.log(base);
  const high = (half * Math.log(ctx / (alpha * 2 * Math.PI))) / Math.log(base);
  for (let i = 0; i < half; i++) {
    const freq = base ** ((2 * i) / headDim);
    if (factor > 1) {
      const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
      const mask = 1 - ramp;
      inv[i] = (1 / (factor * freq)) * (1 - mask) + (1 / freq) * mask;
    } else inv[i] = 1 / freq;
  }
  return { inv, conc };
}

export function ropeRef(x: Float32Array, t: number, stride: number, heads: number, positions: Int32Array, headDim = 64) {
  const out = Float32Array.from(x);
  const { inv, conc } = yarn(headDim);
  const half = headDim / 2;
  for (let i = 0; i < t; i++)
    for (let h = 0; h < heads; h++) {
      const o = i * stride + h * headDim;
      for (let j = 0; j < half; j++) {
        const a = Math.fround(positions[i] * Math.fround(inv[j]));
        const c = Math.cos(a) * conc;
        const s = Math.sin(a) * conc;
        const x1 = x[o + j];
        const x2 = x[o + j + half];
        out[o + j] = x1 * c - x2 * s;
        out[o + j + half] = x2 * c + x1 * s;
      }
    }
  return out;
}

export function attentionRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  positions: Int32Array,
  t: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  window: number,
  sinks: Float32Array,
) {
  const out = new Float32Array(t * heads * headDim);
  const g = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  for (let i = 0; i < t; i++)
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor(h / g);
      const p = positions[i];
      const start = window > 0 ? Math.max(0, p - window + 1) : 0;
      const scores: number[] = [];
      for (let j = start; j <= p; j++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[(i * heads + h) * headDim + d] * k[(j * kvHeads + kv) * headDim + d];
        scores.push(s * scale);
      }
      const m = Math.max(sinks[h], ...scores);
      let z = Math.exp(sinks[h] - m);
      const e = scores.map((s) => Math.exp(s - m));
      for (const x of e) z += x;
      for (let j = start; j <= p; j++)
        for (let d = 0; d < headDim; d++)
          out[(i * heads + h) * headDim + d] += (e[j - start] / z) * v[(j * kvHeads + kv) * headDim + d];
    }
  return out;
}

export function routerRef(logits: Float32Array, t: number, e: number, k: number) {
  const ids = new Int32Array(t * k);
  const weights = new Float32Array(t * k);
  for (let i = 0; i < t; i++) {
    const idx = [...Array(e).keys()].sort((a, b) => logits[i * e + b] - logits[i * e + a] || a - b).slice(0, k);
    const m = logits[i * e + idx[0]];
    const ex = idx.map((j) => Math.exp(logits[i * e + j] - m));
    const z = ex.reduce((a, b) => a + b, 0);
    idx.forEach((j, r) => {
      ids[i * k + r] = j;
      weights[i * k + r] = ex[r] / z;
    });
  }
  return { ids, weights };
}

/** MoE block output added to `residual`. Weights given dequantised. */
export function moeRef(
  x: Float32Array,
  t: number,
  hidden: number,
  inter: number,
  ids: Int32Array,
  weights: Float32Array,
  k: number,
  w1: Float32Array[],
  b1: Float32Array[],
  w2: Float32Array[],
  b2: Float32Array[],
  residual: Float32Array,
) {
  const out = Float32Array.from(residual);
  for (let i = 0; i < t; i++) {
    const xi = x.subarray(i * hidden, (i + 1) * hidden);
    for (let r = 0; r < k; r++) {
      const e = ids[i * k + r];
      const h = matmulRef(xi, 1, w1[e], 2 * inter, hidden, b1[e]);
      const a = swigluRef(h, 1, 2 * inter);
      const o = matmulRef(a, 1, w2[e], hidden, inter, b2[e]);
      for (let d = 0; d < hidden; d++) out[i * hidden + d] += weights[i * k + r] * o[d];
    }
  }
  return out;
}

/**
 * A random MoE layer (tokens t, hidden H, intermediate I, E experts, top-K routing): the moeSync parameters
 * without `out`, the residual that `out` must start as, and the reference result.
 */
export function randomMoeCase(r: () => number, t: number, H: number, I: number, E: number, K: number) {
  const x = randomF32(t * H, r);
  const w1 = randomMxfp4(E * 2 * I, H, r);
  const w2 = randomMxfp4(E * H, I, r);
  const b1 = randomBf16(E * 2 * I, r);
  const b2 = randomBf16(E * H, r);
  const { ids, weights } = routerRef(randomF32(t * E, r), t, E, K);
  const residual = randomF32(t * H, r);
  const per = (a: Float32Array, n: number) => Array.from({ length: E }, (_, e) => a.subarray(e * n, (e + 1) * n));
  const w1f = per(dequantMxfp4(w1.blocks, w1.scales, E * 2 * I, H), 2 * I * H);
  const w2f = per(dequantMxfp4(w2.blocks, w2.scales, E * H, I), H * I);
  const want = moeRef(x, t, H, I, ids, weights, K, w1f, per(bf16Array(b1), 2 * I), w2f, per(bf16Array(b2), H), residual);
  const params = {
    x, tokens: t, hidden: H, intermediate: I, experts: E, ids, weights, topK: K,
    mlp1Blocks: w1.blocks, mlp1Scales: w1.scales, mlp1Bias: b1,
    mlp2Blocks: w2.blocks, mlp2Scales: w2.scales, mlp2Bias: b2,
  };
  return { params, residual, want };
}

/** max |a-b| / max(floor, max |b|): a scale-aware error for whole arrays (floor 0 for arrays of tiny values). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(a[i])) return Infinity;
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, floor);
}

export function poisoned(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

/**
 * Activations for the prefill GEMM tests: random, 'outlier' (one element per token 1000x the rest, in varying
 * positions: its block's other values lose ~10 bits in int16, nearly all in int8), or 'zero-blocks' (every third
 * block zero, token 0 entirely zero).
 */
export type ActKind = 'random' | 'outlier' | 'zero-blocks';
export function activations(t: number, k: number, r: () => number, kind: ActKind): Float32Array {
  const x = randomF32(t * k, r);
  if (kind === 'outlier') {
    for (let i = 0; i < t; i++) x[i * k + Math.floor(r() * k)] *= 1000;
  } else if (kind === 'zero-blocks') {
    for (let i = 0; i < t; i++)
      for (let g = 0; g < k / 32; g++) if ((i + g) % 3 === 0) x.fill(0, i * k + g * 32, i * k + g * 32 + 32);
    x.fill(0, 0, k);
  }
  return x;
}

/** An MXFP4 weight descriptor for matmulSync / moeSync from a blocks + scales pair. */
export const mxWeight = (blocks: Uint8Array, scales: Uint8Array, rows: number, cols: number) =>
  ({ format: 'mxfp4', blocks, scales, rows, cols }) as const;

/**
 * Prefill GEMM shapes [tokens, rows, K, activation kind]: K multiples of 32 (MXFP4), rows not multiples of the
 * 16/32-row tile, tokens not multiples of the 6-token tile.
 */
export const PREFILL_GEMM_SHAPES = [
  [5, 1, 32, 'random'],
  [6, 17, 64, 'outlier'],
  [7, 33, 96, 'zero-blocks'],
  [11, 47, 160, 'random'],
  [13, 16, 288, 'outlier'],
  [23, 70, 32, 'zero-blocks'],
  [37, 31, 2880, 'random'],
  [70, 50, 320, 'outlier'],
  [64, 64, 192, 'zero-blocks'],
] as const;
