import { Mxfp4CodecError } from './errors.js';

/** Values per MXFP4 block (OCP MX v1.0 block size k = 32). */
export const MXFP4_BLOCK_SIZE = 32;
/** Bytes per packed MXFP4 block: 32 four-bit values, low nibble first. */
export const MXFP4_BLOCK_BYTES = 16;
/** Bias of the E8M0 shared scale: a scale byte `s` means 2^(s − 127). */
export const E8M0_BIAS = 127;
/** The E8M0 byte that means NaN (OCP MX v1.0 §5.4). */
export const E8M0_NAN = 0xff;

/**
 * FP4 E2M1 code → value: bit 3 is the sign, bits 2..1 the exponent (bias 1), bit 0 the mantissa.
 * Index 8 is −0.
 */
export const FP4_E2M1_VALUES: Float32Array = new Float32Array([
  0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6,
]);

// scale byte → 2^(s−127) as a double, exact for every s (2^−127 is a normal double). 0xFF is NaN per OCP.
const SCALE = new Float64Array(256);
for (let s = 0; s < 255; s++) SCALE[s] = 2 ** (s - E8M0_BIAS);
SCALE[E8M0_NAN] = NaN;

// (scale << 4 | nibble) → f32 bit pattern of FP4[nibble] × 2^(scale − 127): 16 KiB, stays in L1.
// Writing bit patterns through a Uint32Array view skips the double → float conversion per element.
// The products are exact in f32 except the overflow to ±Inf at the top scales, which is exactly what
// the reference's f32 ldexp produces.
const F32_BITS = new Uint32Array(4096);
{
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let sc = 0; sc < 256; sc++) {
    for (let nib = 0; nib < 16; nib++) {
      f[0] = FP4_E2M1_VALUES[nib] * SCALE[sc];
      F32_BITS[(sc << 4) | nib] = u[0];
    }
  }
}

// The fast paths load four block bytes at a time through a Uint32Array and unpack them with shifts,
// which assumes a little-endian host (every platform Node supports in practice); big-endian hosts
// and unaligned inputs take the byte-wise path.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** 2^(s − 127) for an E8M0 byte; `NaN` for 0xFF. */
export function e8m0ToNumber(s: number): number {
  if (!Number.isInteger(s) || s < 0 || s > 255) throw new Mxfp4CodecError(`e8m0ToNumber: expected a byte 0..255, found ${s}`);
  return SCALE[s];
}

function checkShapes(fn: string, blocks: Uint8Array, scales: Uint8Array): number {
  const groups = scales.length;
  if (blocks.length !== groups * MXFP4_BLOCK_BYTES) {
    throw new Mxfp4CodecError(
      `${fn}: blocks must hold 16 bytes per scale (blocks [..., G, 16], scales [..., G]); ` +
        `found ${blocks.length} block bytes for ${groups} scales (expected ${groups * MXFP4_BLOCK_BYTES})`,
    );
  }
  return groups;
}

/**
 * Dequantizes MXFP4 to f32: element `32g + m` = FP4[nibble m of block g] × 2^(scales[g] − 127),
 * nibble `2j` being the low nibble of byte `j`. Products are exact in f32 except where they overflow
 * (→ ±Inf, as the reference's f32 `ldexp` does). A scale of 0xFF (NaN in OCP MX) yields NaN for the block.
 *
 * @example
 * const out = dequantizeMxfp4(blocks, scales); // blocks [..., G, 16] u8, scales [..., G] u8 → [..., G*32] f32
 */
export function dequantizeMxfp4(blocks: Uint8Array, scales: Uint8Array, out?: Float32Array): Float32Array {
  const groups = checkShapes('dequantizeMxfp4', blocks, scales);
  const n = groups * MXFP4_BLOCK_SIZE;
  if (out !== undefined && out.length < n) {
    throw new Mxfp4CodecError(`dequantizeMxfp4: out holds ${out.length} values but ${n} are needed`);
  }
  const o = out ?? new Float32Array(n);
  const o32 = new Uint32Array(o.buffer, o.byteOffset, n);
  const t = F32_BITS;
  if (LITTLE_ENDIAN && blocks.byteOffset % 4 === 0) {
    const w32 = new Uint32Array(blocks.buffer, blocks.byteOffset, groups * 4);
    let wi = 0;
    let oi = 0;
    for (let g = 0; g < groups; g++) {
      const base = scales[g] << 4;
      for (let k = 0; k < 4; k++) {
        const w = w32[wi++];
        o32[oi] = t[base | (w & 15)];
        o32[oi + 1] = t[base | ((w >>> 4) & 15)];
        o32[oi + 2] = t[base | ((w >>> 8) & 15)];
        o32[oi + 3] = t[base | ((w >>> 12) & 15)];
        o32[oi + 4] = t[base | ((w >>> 16) & 15)];
        o32[oi + 5] = t[base | ((w >>> 20) & 15)];
        o32[oi + 6] = t[base | ((w >>> 24) & 15)];
        o32[oi + 7] = t[base | (w >>> 28)];
        oi += 8;
      }
    }
    return o;
  }
  let bi = 0;
  let oi = 0;
  for (let g = 0; g < groups; g++) {
    const base = scales[g] << 4;
    const end = bi + MXFP4_BLOCK_BYTES;
    for (; bi < end; bi++) {
      const b = blocks[bi];
      o32[oi] = t[base | (b & 15)];
      o32[oi + 1] = t[base | (b >> 4)];
      oi += 2;
    }
  }
  return o;
}

// (scale << 8 | byte) → two bf16 values packed little-endian in one u32 (low nibble's value in the low half).
// 256 KiB, built on first use. Every finite product has at most two significant bits and an exponent
// ≥ −128, so it is exact in bf16; the f32 overflow cases become ±Inf just like the reference.
let bf16PairTable: Uint32Array | undefined;

function getBf16PairTable(): Uint32Array {
  if (bf16PairTable !== undefined) return bf16PairTable;
  const t = new Uint32Array(65536);
  for (let s = 0; s < 256; s++) {
    for (let b = 0; b < 256; b++) {
      // Every value is exact in bf16 (see above), ±Inf or a quiet NaN, so the top half is the RNE result.
      const lo = F32_BITS[(s << 4) | (b & 15)] >>> 16;
      const hi = F32_BITS[(s << 4) | (b >> 4)] >>> 16;
      t[(s << 8) | b] = (lo | (hi << 16)) >>> 0;
    }
  }
  bf16PairTable = t;
  return t;
}

/**
 * Dequantizes MXFP4 to bf16 bit patterns (same values as {@link dequantizeMxfp4}, which are all exact
 * in bf16). Output layout: `[..., G*32]` u16.
 */
export function dequantizeMxfp4ToBf16(blocks: Uint8Array, scales: Uint8Array, out?: Uint16Array): Uint16Array {
  const groups = checkShapes('dequantizeMxfp4ToBf16', blocks, scales);
  const n = groups * MXFP4_BLOCK_SIZE;
  if (out !== undefined && out.length < n) {
    throw new Mxfp4CodecError(`dequantizeMxfp4ToBf16: out holds ${out.length} values but ${n} are needed`);
  }
  const o = out ?? new Uint16Array(n);
  const t = getBf16PairTable();
  let bi = 0;
  if (LITTLE_ENDIAN && o.byteOffset % 4 === 0 && blocks.byteOffset % 4 === 0) {
    // Four block bytes per load, two bf16 (one u32 store) per byte.
    const o32 = new Uint32Array(o.buffer, o.byteOffset, n >>> 1);
    const w32 = new Uint32Array(blocks.buffer, blocks.byteOffset, groups * 4);
    let wi = 0;
    let oi = 0;
    for (let g = 0; g < groups; g++) {
      const base = scales[g] << 8;
      for (let k = 0; k < 4; k++) {
        const w = w32[wi++];
        o32[oi] = t[base | (w & 255)];
        o32[oi + 1] = t[base | ((w >>> 8) & 255)];
        o32[oi + 2] = t[base | ((w >>> 16) & 255)];
        o32[oi + 3] = t[base | (w >>> 24)];
        oi += 4;
      }
    }
    return o;
  }
  if (LITTLE_ENDIAN && o.byteOffset % 4 === 0) {
    const o32 = new Uint32Array(o.buffer, o.byteOffset, n >>> 1);
    let oi = 0;
    for (let g = 0; g < groups; g++) {
      const base = scales[g] << 8;
      const end = bi + MXFP4_BLOCK_BYTES;
      for (; bi < end; bi++) o32[oi++] = t[base | blocks[bi]];
    }
  } else {
    let oi = 0;
    for (let g = 0; g < groups; g++) {
      const base = scales[g] << 8;
      const end = bi + MXFP4_BLOCK_BYTES;
      for (; bi < end; bi++) {
        const v = t[base | blocks[bi]];
        o[oi] = v & 0xffff;
        o[oi + 1] = v >>> 16;
        oi += 2;
      }
    }
  }
  return o;
}
