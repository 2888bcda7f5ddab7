import { Mxfp4CodecError } from './errors.js';

// The converters work on raw bit patterns through Uint32Array views, so NaN payloads and signed
// zeros survive and nothing depends on how the engine canonicalises NaN in float registers.

function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function checkDst<T extends { length: number }>(what: string, n: number, dst: T | undefined): void {
  if (dst !== undefined && dst.length < n) {
    throw new Mxfp4CodecError(`${what}: destination holds ${dst.length} elements but ${n} are needed; pass a larger array or none`);
  }
}

/**
 * Widens bf16 bit patterns to f32. Exact for every input (bf16 is the top half of an f32).
 *
 * @example bf16ToF32(new Uint16Array([0x3f80])) // Float32Array [1]
 */
export function bf16ToF32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const n = src.length;
  checkDst('bf16ToF32', n, dst);
  const out = dst ?? new Float32Array(n);
  const o = u32View(out);
  for (let i = 0; i < n; i++) o[i] = src[i] << 16;
  return out;
}

/** One f32 bit pattern → bf16 bits, round-to-nearest-even; NaN stays NaN (quieted, sign kept), ±Inf stays. */
export function f32BitsToBf16Bits(bits: number): number {
  bits >>>= 0;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) {
    return ((bits >>> 16) | 0x0040) & 0xffff;
  }
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Narrows f32 to bf16 bit patterns with round-to-nearest-even. NaN stays NaN (quieted, sign kept),
 * ±Inf stays ±Inf, finite values beyond the bf16 range round to ±Inf as IEEE rounding says.
 *
 * @example f32ToBf16(new Float32Array([1, 1 + 2 ** -8])) // Uint16Array [0x3f80, 0x3f80] (tie → even)
 */
export function f32ToBf16(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const n = src.length;
  checkDst('f32ToBf16', n, dst);
  const out = dst ?? new Uint16Array(n);
  const s = u32View(src);
  for (let i = 0; i < n; i++) {
    const bits = s[i];
    if ((bits & 0x7fffffff) > 0x7f800000) out[i] = (bits >>> 16) | 0x0040;
    else out[i] = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** One f16 bit pattern → f32 bit pattern (exact). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: normalise the mantissa; each shift lowers the exponent by one.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** One f32 bit pattern → f16 bits, round-to-nearest-even, subnormals produced, overflow → ±Inf, NaN kept. */
export function f32BitsToF16Bits(bits: number): number {
  bits >>>= 0;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) !== 0)) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and reaches Inf at the top).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

let f16Table: Uint32Array | undefined;

function getF16Table(): Uint32Array {
  if (f16Table === undefined) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32Bits(h);
    f16Table = t;
  }
  return f16Table;
}

/**
 * Widens IEEE half-precision bit patterns to f32 (exact, subnormals included).
 *
 * @example f16ToF32(new Uint16Array([0x3c00])) // Float32Array [1]
 */
export function f16ToF32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const n = src.length;
  checkDst('f16ToF32', n, dst);
  const out = dst ?? new Float32Array(n);
  const o = u32View(out);
  const t = getF16Table();
  for (let i = 0; i < n; i++) o[i] = t[src[i]];
  return out;
}

/**
 * Narrows f32 to IEEE half-precision bit patterns: round-to-nearest-even, subnormals produced,
 * overflow → ±Inf, NaN stays NaN (quieted, sign kept).
 */
export function f32ToF16(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const n = src.length;
  checkDst('f32ToF16', n, dst);
  const out = dst ?? new Uint16Array(n);
  const s = u32View(src);
  for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(s[i]);
  return out;
}
