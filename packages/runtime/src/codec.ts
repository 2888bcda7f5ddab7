// Small scalar codecs used by the reference backend and by createCheckpoint. They are the textbook definitions
// (SPEC §2.2); @gptoss/mxfp4 holds the fast, tested bulk versions.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16ToF32Array(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  const out32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out32[i] = src[i] << 16;
  return dst;
}

/** Round-to-nearest-even fp32 → bf16 (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export const FP4_VALUES = new Float32Array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);

/**
 * Dequantises MXFP4 rows: `blocks` [rows, G, 16], `scales` [rows, G] → [rows, 32·G] fp32.
 * Byte j of a block holds value 2j in its low nibble and 2j+1 in its high nibble; the scale is 2^(s−127).
 */
export function dequantMxfp4(blocks: Uint8Array, scales: Uint8Array, out = new Float32Array(blocks.length * 2)): Float32Array {
  const groups = scales.length;
  for (let g = 0; g < groups; g++) {
    const s = Math.pow(2, scales[g] - 127);
    const bo = g * 16;
    const oo = g * 32;
    for (let j = 0; j < 16; j++) {
      const byte = blocks[bo + j];
      out[oo + 2 * j] = FP4_VALUES[byte & 0x0f] * s;
      out[oo + 2 * j + 1] = FP4_VALUES[byte >> 4] * s;
    }
  }
  return out;
}
