/**
 * xoshiro128** — a small, fast, seedable PRNG. Used for sampling (reproducible with `seed`) and for the random
 * weights of createCheckpoint (deterministic per tensor, whatever the layout or chunking).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string = Date.now()) {
    // splitmix32 expands one 32-bit seed into four non-zero words.
    let s = typeof seed === 'string' ? hashString(seed) : seed >>> 0 ^ Math.floor(seed / 2 ** 32);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Fills `out` with uniform random bytes. */
  fillBytes(out: Uint8Array): void {
    const n4 = out.length >>> 2;
    const aligned = out.byteOffset % 4 === 0;
    if (aligned) {
      const u = new Uint32Array(out.buffer, out.byteOffset, n4);
      for (let i = 0; i < n4; i++) u[i] = this.nextU32();
    } else {
      for (let i = 0; i < n4; i++) {
        const r = this.nextU32();
        out[4 * i] = r & 255;
        out[4 * i + 1] = (r >>> 8) & 255;
        out[4 * i + 2] = (r >>> 16) & 255;
        out[4 * i + 3] = r >>> 24;
      }
    }
    for (let i = n4 * 4; i < out.length; i++) out[i] = this.nextU32() & 255;
  }

  /**
   * Approximately standard-normal values (Irwin–Hall sum of the four bytes of one draw): cheap enough to fill
   * billions of weights, and random weights need no better.
   */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    const k = std / 147.80166;
    for (let i = 0; i < out.length; i++) {
      const r = this.nextU32();
      const s = (r & 255) + ((r >>> 8) & 255) + ((r >>> 16) & 255) + (r >>> 24);
      out[i] = mean + (s - 510) * k;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** FNV-1a over UTF-16 code units: a stable 32-bit hash to derive per-tensor seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
