import { Mxfp4CodecError } from './errors.js';
import { E8M0_BIAS, E8M0_NAN, MXFP4_BLOCK_BYTES, MXFP4_BLOCK_SIZE } from './mxfp4.js';

/** Options of {@link quantizeMxfp4}. */
export interface QuantizeMxfp4Options {
  /** Logical shape of `values`; when given, its product must equal the length and its last dimension be a multiple of 32. */
  shape?: readonly number[];
  /** Destination for the packed nibbles, `length / 2` bytes. */
  blocks?: Uint8Array;
  /** Destination for the E8M0 scales, `length / 32` bytes. */
  scales?: Uint8Array;
}

/** Result of {@link quantizeMxfp4}: `blocks` `[..., G, 16]` and `scales` `[..., G]`, the checkpoint layout. */
export interface Mxfp4Tensor {
  blocks: Uint8Array;
  scales: Uint8Array;
}

function checkShape(fn: string, n: number, shape: readonly number[] | undefined): void {
  if (shape === undefined) return;
  const prod = shape.reduce((a, b) => a * b, 1);
  const last = shape.length === 0 ? 1 : shape[shape.length - 1];
  if (prod !== n || last % MXFP4_BLOCK_SIZE !== 0) {
    throw new Mxfp4CodecError(
      `${fn}: shape [${shape.join(', ')}] must have ${n} elements and a last dimension that is a multiple of 32; pad the last dimension`,
    );
  }
}

/** E2M1 emax: the largest element, 6 = 1.5 × 2^2. */
const EMAX_ELEM = 2;

// |x| / 2^X → E2M1 magnitude code with round-to-nearest-even (ties go to the even code, i.e. the one
// with mantissa bit 0) and saturation to 6 above it. The thresholds are the midpoints of the grid
// 0, 0.5, 1, 1.5, 2, 3, 4, 6; `<=` where the lower neighbour is even, `<` where it is odd.
function e2m1Code(a: number): number {
  if (a <= 1.25) return a <= 0.25 ? 0 : a < 0.75 ? 1 : 2;
  if (a <= 2.5) return a < 1.75 ? 3 : 4;
  return a < 3.5 ? 5 : a <= 5 ? 6 : 7;
}

// Every rounding midpoint of the grid (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5) is a multiple of 1/4, so
// with q = 4a the code is constant on each open interval (k, k+1) and only the integer points can be
// ties: one table for q == k, one for k < q < k+1.
const CODE_AT_EDGE = new Uint8Array(32);
const CODE_INSIDE = new Uint8Array(32);
for (let k = 0; k < 32; k++) {
  CODE_AT_EDGE[k] = e2m1Code(k / 4);
  CODE_INSIDE[k] = e2m1Code((k + 0.5) / 4);
}

/**
 * Quantizes f32 values to MXFP4 following OCP Microscaling Formats v1.0 §6.3, in blocks of 32
 * consecutive values (the last dimension, which must be a multiple of 32):
 *
 * - shared scale X = floor(log2(max |v|)) − 2 (emax of E2M1), clamped to the E8M0 range [−127, 127];
 *   stored as the byte X + 127. An all-zero block gets X = −127 (byte 0): every element is then ±0.
 * - each element is v / 2^X rounded to nearest, ties to even, onto E2M1; magnitudes above 6
 *   (possible up to 8 with this scale rule) saturate to ±6. The sign of zero is kept.
 * - NaN: a block holding a NaN gets the E8M0 NaN scale 0xFF (every element then decodes as NaN) and
 *   zero nibbles. ±Inf has no E2M1 or E8M0 encoding, so a block holding one is treated the same way
 *   (our choice; the spec leaves non-representable specials to the implementation).
 *
 * Error bound (non-NaN blocks, X ≥ −127 not clamped): each decoded element differs from its input by
 * at most half the E2M1 grid step at its magnitude (2^(X−2) below 2·2^X, 2^(X−1) up to 4·2^X, 2^X up to
 * 6·2^X) or, when saturated (|v| > 6·2^X), by less than 2·2^X. Inputs already on the grid of their
 * block round-trip exactly.
 *
 * @example
 * const { blocks, scales } = quantizeMxfp4(new Float32Array(64).fill(1.5)); // 2 blocks
 */
export function quantizeMxfp4(values: Float32Array, opts: QuantizeMxfp4Options = {}): Mxfp4Tensor {
  const n = values.length;
  checkShape('quantizeMxfp4', n, opts.shape);
  if (n % MXFP4_BLOCK_SIZE !== 0) {
    throw new Mxfp4CodecError(`quantizeMxfp4: ${n} values is not a multiple of 32 (the block size along the last dimension); pad the last dimension`);
  }
  const groups = n / MXFP4_BLOCK_SIZE;
  const blocks = opts.blocks ?? new Uint8Array(groups * MXFP4_BLOCK_BYTES);
  const scales = opts.scales ?? new Uint8Array(groups);
  if (blocks.length < groups * MXFP4_BLOCK_BYTES || scales.length < groups) {
    throw new Mxfp4CodecError(
      `quantizeMxfp4: destinations too small: need ${groups * MXFP4_BLOCK_BYTES} block bytes and ${groups} scales, ` +
        `found ${blocks.length} and ${scales.length}`,
    );
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  for (let g = 0; g < groups; g++) {
    const base = g * MXFP4_BLOCK_SIZE;
    // Max magnitude via the bit patterns: for non-negative floats the integer order is the value
    // order, and NaN/Inf compare above every finite value.
    let maxBits = 0;
    for (let i = 0; i < MXFP4_BLOCK_SIZE; i++) {
      const m = bits[base + i] & 0x7fffffff;
      if (m > maxBits) maxBits = m;
    }
    const bo = g * MXFP4_BLOCK_BYTES;
    if (maxBits >= 0x7f800000) {
      scales[g] = E8M0_NAN;
      blocks.fill(0, bo, bo + MXFP4_BLOCK_BYTES);
      continue;
    }
    // floor(log2(amax)) is the unbiased exponent for normals; subnormals and zero clamp to −127 anyway.
    const biasedExp = maxBits >>> 23;
    const sByte = Math.max(biasedExp - EMAX_ELEM, 0); // = clamp(X, −127, 127) + 127, never above 252
    scales[g] = sByte;
    // |v| × 4 / 2^X is exact (power-of-two scaling) and below 32 because |v| ≤ amax < 2^(X+3).
    const inv4 = 2 ** (E8M0_BIAS + 2 - sByte);
    for (let j = 0; j < MXFP4_BLOCK_BYTES; j++) {
      const i0 = base + 2 * j;
      let q0 = values[i0] * inv4;
      let q1 = values[i0 + 1] * inv4;
      if (q0 < 0) q0 = -q0;
      if (q1 < 0) q1 = -q1;
      const f0 = q0 | 0;
      const f1 = q1 | 0;
      const c0 = (q0 === f0 ? CODE_AT_EDGE[f0] : CODE_INSIDE[f0]) | ((bits[i0] >>> 31) << 3);
      const c1 = (q1 === f1 ? CODE_AT_EDGE[f1] : CODE_INSIDE[f1]) | ((bits[i0 + 1] >>> 31) << 3);
      blocks[bo + j] = c0 | (c1 << 4);
    }
  }
  return { blocks, scales };
}

/**
 * Quantizes bf16 bit patterns (e.g. a checkpoint's bf16 weight) to MXFP4 with the rules of
 * {@link quantizeMxfp4}; bf16 values are exact in f32, so the result is the same as widening first.
 */
export function quantizeMxfp4FromBf16(values: Uint16Array, opts: QuantizeMxfp4Options = {}): Mxfp4Tensor {
  const n = values.length;
  if (n % MXFP4_BLOCK_SIZE !== 0) {
    throw new Mxfp4CodecError(`quantizeMxfp4FromBf16: ${n} values is not a multiple of 32 (the block size along the last dimension)`);
  }
  checkShape('quantizeMxfp4FromBf16', n, opts.shape);
  const groups = n / MXFP4_BLOCK_SIZE;
  const blocks = opts.blocks ?? new Uint8Array(groups * MXFP4_BLOCK_BYTES);
  const scales = opts.scales ?? new Uint8Array(groups);
  // Widen in bounded chunks so a large tensor never needs a full f32 copy.
  const CHUNK = 1 << 16;
  const tmp = new Float32Array(CHUNK);
  const tmp32 = new Uint32Array(tmp.buffer);
  for (let start = 0; start < n; start += CHUNK) {
    const len = Math.min(CHUNK, n - start);
    for (let i = 0; i < len; i++) tmp32[i] = values[start + i] << 16;
    const g0 = start / MXFP4_BLOCK_SIZE;
    quantizeMxfp4(tmp.subarray(0, len), {
      blocks: blocks.subarray(g0 * MXFP4_BLOCK_BYTES),
      scales: scales.subarray(g0),
    });
  }
  return { blocks, scales };
}
