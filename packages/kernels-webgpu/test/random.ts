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
