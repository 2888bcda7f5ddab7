import { describe, expect, test } from 'vitest';
import { bf16ToF32, f16ToF32, f32BitsToF16Bits, f32ToBf16, f32ToF16 } from './float-convert.js';

function f32FromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}
function bitsOf(f: Float32Array): number[] {
  return [...new Uint32Array(f.buffer, f.byteOffset, f.length)];
}

// Independent reference: exact rational rounding through doubles (every f32 is exact as a double).
function refRound(x: number, mantBits: number, minExp: number, maxFinite: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, minExp) - mantBits);
  const r = a / q;
  let n = Math.floor(r);
  const frac = r - n;
  if (frac > 0.5 || (frac === 0.5 && n % 2 === 1)) n++;
  const v = n * q;
  const lim = maxFinite + 2 ** (Math.floor(Math.log2(maxFinite)) - mantBits - 1);
  if (a >= lim) return Math.sign(x) * Infinity;
  return Math.sign(x) * v;
}

describe('bf16', () => {
  test('widening is exact and keeps NaN/Inf/-0', () => {
    const src = new Uint16Array([0x3f80, 0xbf80, 0x7f80, 0xff80, 0x7fc1, 0x8000, 0x0001, 0x7f7f]);
    const out = bf16ToF32(src);
    expect(bitsOf(out)).toEqual([...src].map((h) => (h << 16) >>> 0));
  });

  test('narrowing rounds to nearest even, keeps NaN and Inf', () => {
    const bits = [
      0x3f800000, // 1
      0x3f808000, // tie, even below → 0x3f80
      0x3f818000, // tie, odd below → 0x3f82
      0x3f808001, // above tie → 0x3f81
      0x7f7fffff, // max f32 → rounds to Inf
      0x7f800000,
      0xff800000,
      0x7f800001, // signalling NaN with payload only in low bits → must stay NaN
      0xffc00000,
      0x80000000,
      0x00000001, // smallest subnormal → 0
      0x00008000, // tie at subnormal → even (0)
      0x00018000, // tie → 0x0002
    ];
    const out = f32ToBf16(f32FromBits(bits));
    expect([...out]).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x7f80, 0x7f80, 0xff80, 0x7fc0, 0xffc0, 0x8000, 0, 0, 2]);
  });

  test('random values match a reference rounding', () => {
    let s = 12345;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s);
    const u = new Uint32Array(20000);
    for (let i = 0; i < u.length; i++) u[i] = rnd() ^ (rnd() << 16);
    const f = new Float32Array(u.buffer);
    const out = f32ToBf16(f);
    const back = bf16ToF32(out);
    for (let i = 0; i < f.length; i++) {
      const x = f[i];
      if (Number.isNaN(x)) {
        expect(Number.isNaN(back[i])).toBe(true);
        continue;
      }
      const ref = refRound(x, 7, -133 + 7, 3.3895313892515355e38);
      if (back[i] !== ref) expect([i, x, back[i]]).toEqual([i, x, ref]);
    }
  });

  test('destination too small is an error', () => {
    expect(() => f32ToBf16(new Float32Array(4), new Uint16Array(3))).toThrow(/destination/);
  });
});

describe('f16', () => {
  test('every f16 round-trips exactly through f32', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) all[i] = i;
    const f = f16ToF32(all);
    const back = f32ToF16(f);
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (isNaN) {
        expect(Number.isNaN(f[i])).toBe(true);
        expect(back[i] & 0x7c00).toBe(0x7c00);
        expect(back[i] & 0x3ff).not.toBe(0);
      } else if (back[i] !== i) {
        expect([i, back[i]]).toEqual([i, i]);
      }
    }
    expect(f[0x3c00]).toBe(1);
    expect(f[0x0001]).toBe(2 ** -24);
    expect(f[0x7bff]).toBe(65504);
  });

  test('narrowing matches reference rounding on random values, subnormals and overflow', () => {
    let s = 777;
    const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
    const vals: number[] = [65504, 65520, 65519.99, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -24 * 1.5, 2 ** -24 * 2.5, 1e-10, -0];
    for (let i = 0; i < 20000; i++) {
      const e = (rnd() % 44) - 28;
      vals.push((rnd() / 2 ** 32 - 0.5) * 2 ** e);
    }
    const f = new Float32Array(vals);
    const out = f16ToF32(f32ToF16(f));
    for (let i = 0; i < f.length; i++) {
      const ref = refRound(f[i], 10, -14, 65504);
      if (!Object.is(out[i], ref)) expect([i, f[i], out[i]]).toEqual([i, f[i], ref]);
    }
  });

  test('NaN with low payload stays NaN', () => {
    expect(f32BitsToF16Bits(0x7f800001) & 0x7fff).toBeGreaterThan(0x7c00);
    expect(f32BitsToF16Bits(0xff800000)).toBe(0xfc00);
  });
});
