/** Element types a safetensors header may name (the set of the Rust `safetensors` crate, 0.6). */
export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'U16'
  | 'I16'
  | 'F16'
  | 'BF16'
  | 'U32'
  | 'I32'
  | 'F32'
  | 'U64'
  | 'I64'
  | 'F64'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'F8_E8M0'
  | 'F4'
  | 'F6_E2M3'
  | 'F6_E3M2'
  | 'C64';

const BITS: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  U16: 16,
  I16: 16,
  F16: 16,
  BF16: 16,
  U32: 32,
  I32: 32,
  F32: 32,
  U64: 64,
  I64: 64,
  F64: 64,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  C64: 64,
};

/** Every dtype name this package understands, in a stable order. */
export const SAFETENSORS_DTYPES: readonly SafetensorsDType[] = Object.freeze(
  Object.keys(BITS) as SafetensorsDType[],
);

/** True when `s` is a dtype name this package understands. */
export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(BITS, s);
}

/** Bits per element: 4 for `F4`, 6 for the `F6_*` types, otherwise 8 × the byte size. */
export function dtypeBitSize(d: SafetensorsDType): number {
  const b = BITS[d];
  if (b === undefined) throw new TypeError(`unknown safetensors dtype ${JSON.stringify(d)}`);
  return b;
}

/**
 * Bytes per element. Sub-byte types return a fraction (`F4` → 0.5, `F6_*` → 0.75): a tensor's byte
 * length is `elements × bits / 8`, which the format requires to be a whole number.
 *
 * @example dtypeByteSize('BF16') // 2
 */
export function dtypeByteSize(d: SafetensorsDType): number {
  return dtypeBitSize(d) / 8;
}

/**
 * Number of elements of `shape` (1 for a scalar `[]`), or `undefined` when a dimension is not a
 * non-negative safe integer or the product leaves the safe-integer range.
 */
export function shapeElementCount(shape: readonly unknown[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/**
 * Byte length of a tensor, or `undefined` when the element count × bits is not a whole number of
 * bytes (e.g. an odd number of `F4` elements: the format refuses to guess the packing).
 */
export function tensorByteLength(dtype: SafetensorsDType, elements: number): number | undefined {
  const bits = elements * dtypeBitSize(dtype);
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) return undefined;
  return bits / 8;
}
