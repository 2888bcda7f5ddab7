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

export function randn(n: number, r: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/** f32 → bf16 (round to nearest even) and back: the weights the GPU sees. */
export function toBf16(a: Float32Array): { bits: Uint16Array; values: Float32Array } {
  const bits = new Uint16Array(a.length);
  const values = new Float32Array(a.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < a.length; i++) {
    f[0] = a[i];
    const x = u[0];
    const r = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    bits[i] = r;
    u[0] = r << 16;
    values[i] = f[0];
  }
  return { bits, values };
}

/** A NaN pattern to fill outputs with before a run, so unwritten elements show. */
export function poison(n: number): Float32Array {
  return new Float32Array(n).fill(Number.NaN);
}

export function relL2(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = a[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

export function maxAbsDiff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(a[i] - ref[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

const f16Scratch = new Float32Array(1);
const f16ScratchU = new Uint32Array(f16Scratch.buffer);

/** f32 → f16 bits, round to nearest even (subnormals kept, overflow to infinity), as WGSL's pack2x16float. */
export function f16Bits(v: number): number {
  f16Scratch[0] = v;
  const x = f16ScratchU[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  const shift = e <= 0 ? 14 - e : 13;
  if (shift > 24) return sign;
  if (e <= 0) mant |= 0x800000;
  let h = (e <= 0 ? 0 : e << 10) | (mant >>> shift);
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && h & 1)) h++;
  return sign | h;
}

/** f16 bits → value. */
export function f16Value(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 0x1f ? (m ? Number.NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/**
 * Rows of K values in the f16-pair layout of the MoE decode kernels (kernels-webgpu wgsl.ts HALF_PAIR_HELPERS): u32
 * 4q+k of a row holds values 8q+k (low half) and 8q+k+4 (high half).
 */
export function toHalfPairs(a: Float32Array, K: number): Uint32Array {
  const out = new Uint32Array(a.length / 2);
  for (let row = 0; row < a.length / K; row++) {
    for (let c = 0; c < K / 2; c++) {
      const i = row * K + 8 * (c >> 2) + (c & 3);
      out[row * (K / 2) + c] = (f16Bits(a[i]) | (f16Bits(a[i + 4]) << 16)) >>> 0;
    }
  }
  return out;
}

/** The values of toHalfPairs' layout, back in row order. */
export function fromHalfPairs(u: Uint32Array, K: number): Float32Array {
  const out = new Float32Array(u.length * 2);
  for (let row = 0; row < out.length / K; row++) {
    for (let c = 0; c < K / 2; c++) {
      const i = row * K + 8 * (c >> 2) + (c & 3);
      const w = u[row * (K / 2) + c];
      out[i] = f16Value(w & 0xffff);
      out[i + 4] = f16Value(w >>> 16);
    }
  }
  return out;
}
