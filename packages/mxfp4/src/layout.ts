/**
 * Re-layout helpers for MXFP4 weights. The layout contract:
 *
 * **Checkpoint layout** (what the gpt-oss files store, SPEC §2.2): a weight `W[rows, K]` (K = input
 * dimension, a multiple of 32; any leading dimensions such as experts fold into `rows`) is stored as
 * `blocks[rows, G, 16]` and `scales[rows, G]` with `G = K / 32`. Byte `j` of block `(r, g)` holds
 * element `32g + 2j` in its low nibble and `32g + 2j + 1` in its high nibble.
 *
 * **Split-halves nibble order** ({@link toSplitHalvesNibbles}): same shapes, but byte `j` holds
 * element `32g + j` in its low nibble and `32g + j + 16` in its high nibble — the order of ggml's
 * `block_mxfp4`, where `byte & 15` over the 16 bytes yields elements 0..15 and `byte >> 4` 16..31,
 * so SIMD code widens with one mask and one shift and no shuffle.
 *
 * **Unpacked codes** ({@link unpackNibbles}): one 4-bit code per byte, `codes[rows, K]`, element order.
 *
 * **Row-tiled** ({@link tileRows}): `blocks[ceil(rows/T), G, T, 16]` and `scales[ceil(rows/T), G, T]`:
 * for each tile of `T` rows and each block column `g`, the `T` rows' blocks are adjacent, so a kernel
 * computing `T` outputs reads one contiguous run per block column. `T = rows` is the full transpose
 * `[G, rows, 16]`. Rows past the end are padded with zero bytes (all-zero values, scale byte 0).
 *
 * **Gate/up rows** ({@link deinterleaveRowPairs}): gpt-oss `mlp1` rows alternate gate (even) and up
 * (odd); de-interleaving gives `[gate rows…, up rows…]` per matrix, so the two halves are contiguous.
 */
import { Mxfp4CodecError } from './errors.js';
import { MXFP4_BLOCK_BYTES } from './mxfp4.js';

// byte (checkpoint order: elements 2j, 2j+1) pairs → split halves (j, j+16) and back are byte
// permutations of the nibbles within a 16-byte block.
function checkBlocks(fn: string, blocks: Uint8Array, out?: Uint8Array): void {
  if (blocks.length % MXFP4_BLOCK_BYTES !== 0) {
    throw new Mxfp4CodecError(`${fn}: blocks length ${blocks.length} is not a multiple of 16 bytes`);
  }
  if (out !== undefined && out.length < blocks.length) {
    throw new Mxfp4CodecError(`${fn}: out holds ${out.length} bytes but ${blocks.length} are needed`);
  }
  if (out !== undefined && out.buffer === blocks.buffer && out.byteOffset < blocks.byteOffset + blocks.byteLength && blocks.byteOffset < out.byteOffset + out.byteLength) {
    throw new Mxfp4CodecError(`${fn}: out must not overlap the input`);
  }
}

/** Checkpoint nibble order (2j, 2j+1) → split-halves order (j, j+16), block by block. */
export function toSplitHalvesNibbles(blocks: Uint8Array, out?: Uint8Array): Uint8Array {
  checkBlocks('toSplitHalvesNibbles', blocks, out);
  const o = out ?? new Uint8Array(blocks.length);
  const nib = new Uint8Array(32);
  for (let b = 0; b < blocks.length; b += 16) {
    for (let j = 0; j < 16; j++) {
      const v = blocks[b + j];
      nib[2 * j] = v & 15;
      nib[2 * j + 1] = v >> 4;
    }
    for (let j = 0; j < 16; j++) o[b + j] = nib[j] | (nib[j + 16] << 4);
  }
  return o;
}

/** Split-halves nibble order (j, j+16) → checkpoint order (2j, 2j+1). Inverse of {@link toSplitHalvesNibbles}. */
export function fromSplitHalvesNibbles(blocks: Uint8Array, out?: Uint8Array): Uint8Array {
  checkBlocks('fromSplitHalvesNibbles', blocks, out);
  const o = out ?? new Uint8Array(blocks.length);
  const nib = new Uint8Array(32);
  for (let b = 0; b < blocks.length; b += 16) {
    for (let j = 0; j < 16; j++) {
      const v = blocks[b + j];
      nib[j] = v & 15;
      nib[j + 16] = v >> 4;
    }
    for (let j = 0; j < 16; j++) o[b + j] = nib[2 * j] | (nib[2 * j + 1] << 4);
  }
  return o;
}

/** Packed checkpoint blocks → one E2M1 code (0..15) per byte, in element order. */
export function unpackNibbles(blocks: Uint8Array, out?: Uint8Array): Uint8Array {
  const n = blocks.length * 2;
  if (out !== undefined && out.length < n) throw new Mxfp4CodecError(`unpackNibbles: out holds ${out.length} bytes but ${n} are needed`);
  const o = out ?? new Uint8Array(n);
  for (let i = 0; i < blocks.length; i++) {
    const v = blocks[i];
    o[2 * i] = v & 15;
    o[2 * i + 1] = v >> 4;
  }
  return o;
}

/** One E2M1 code per byte → packed checkpoint order (element 2j low nibble, 2j+1 high). Codes above 15 are an error. */
export function packNibbles(codes: Uint8Array, out?: Uint8Array): Uint8Array {
  if (codes.length % 2 !== 0) throw new Mxfp4CodecError(`packNibbles: ${codes.length} codes is odd; two codes make a byte`);
  const n = codes.length / 2;
  if (out !== undefined && out.length < n) throw new Mxfp4CodecError(`packNibbles: out holds ${out.length} bytes but ${n} are needed`);
  const o = out ?? new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = codes[2 * i];
    const b = codes[2 * i + 1];
    if ((a | b) > 15) throw new Mxfp4CodecError(`packNibbles: code ${Math.max(a, b)} at element ${a > 15 ? 2 * i : 2 * i + 1} is not 0..15`);
    o[i] = a | (b << 4);
  }
  return o;
}

/** Options of {@link tileRows}. */
export interface TileRowsOptions {
  /** Rows of the (flattened) weight. */
  rows: number;
  /** Block columns per row, G = K / 32. */
  groups: number;
  /** Rows per tile, T ≥ 1. */
  rowTile: number;
}

/**
 * Checkpoint layout → row-tiled layout (see the module comment): `blocks[R, G, 16]` →
 * `[ceil(R/T), G, T, 16]`, `scales[R, G]` → `[ceil(R/T), G, T]`, padding the last tile with zeros.
 */
export function tileRows(
  blocks: Uint8Array,
  scales: Uint8Array,
  opts: TileRowsOptions,
): { blocks: Uint8Array; scales: Uint8Array; paddedRows: number } {
  const { rows, groups, rowTile: T } = opts;
  if (![rows, groups, T].every((v) => Number.isSafeInteger(v) && v >= 0) || T < 1) {
    throw new Mxfp4CodecError(`tileRows: rows, groups must be non-negative integers and rowTile ≥ 1; found ${rows}, ${groups}, ${T}`);
  }
  if (blocks.length !== rows * groups * 16 || scales.length !== rows * groups) {
    throw new Mxfp4CodecError(
      `tileRows: expected blocks [${rows}, ${groups}, 16] (${rows * groups * 16} bytes) and scales [${rows}, ${groups}] ` +
        `(${rows * groups}); found ${blocks.length} and ${scales.length}`,
    );
  }
  const tiles = Math.ceil(rows / T);
  const paddedRows = tiles * T;
  const ob = new Uint8Array(paddedRows * groups * 16);
  const os = new Uint8Array(paddedRows * groups);
  for (let r = 0; r < rows; r++) {
    const tile = Math.floor(r / T);
    const t = r - tile * T;
    for (let g = 0; g < groups; g++) {
      const dst = (tile * groups + g) * T + t;
      os[dst] = scales[r * groups + g];
      const src = (r * groups + g) * 16;
      ob.set(blocks.subarray(src, src + 16), dst * 16);
    }
  }
  return { blocks: ob, scales: os, paddedRows };
}

/** Row-tiled layout → checkpoint layout for the first `rows` rows. Inverse of {@link tileRows}. */
export function untileRows(blocks: Uint8Array, scales: Uint8Array, opts: TileRowsOptions): { blocks: Uint8Array; scales: Uint8Array } {
  const { rows, groups, rowTile: T } = opts;
  if (![rows, groups, T].every((v) => Number.isSafeInteger(v) && v >= 0) || T < 1) {
    throw new Mxfp4CodecError(`untileRows: rows, groups must be non-negative integers and rowTile ≥ 1; found ${rows}, ${groups}, ${T}`);
  }
  const paddedRows = Math.ceil(rows / T) * T;
  if (blocks.length !== paddedRows * groups * 16 || scales.length !== paddedRows * groups) {
    throw new Mxfp4CodecError(
      `untileRows: expected ${paddedRows * groups * 16} block bytes and ${paddedRows * groups} scales for ${rows} rows in tiles of ${T}; ` +
        `found ${blocks.length} and ${scales.length}`,
    );
  }
  const ob = new Uint8Array(rows * groups * 16);
  const os = new Uint8Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    const tile = Math.floor(r / T);
    const t = r - tile * T;
    for (let g = 0; g < groups; g++) {
      const src = (tile * groups + g) * T + t;
      os[r * groups + g] = scales[src];
      ob.set(blocks.subarray(src * 16, src * 16 + 16), (r * groups + g) * 16);
    }
  }
  return { blocks: ob, scales: os };
}

type RowArray = Uint8Array | Uint16Array | Uint32Array | Float32Array;

function checkRows(fn: string, src: RowArray, rowLength: number, rowsPerMatrix: number): number {
  if (!Number.isSafeInteger(rowLength) || rowLength < 1 || !Number.isSafeInteger(rowsPerMatrix) || rowsPerMatrix < 2 || rowsPerMatrix % 2 !== 0) {
    throw new Mxfp4CodecError(`${fn}: rowLength must be ≥ 1 and rowsPerMatrix even and ≥ 2; found ${rowLength}, ${rowsPerMatrix}`);
  }
  const per = rowLength * rowsPerMatrix;
  if (src.length % per !== 0) {
    throw new Mxfp4CodecError(`${fn}: length ${src.length} is not a whole number of [${rowsPerMatrix}, ${rowLength}] matrices`);
  }
  return src.length / per;
}

/**
 * Per matrix of `rowsPerMatrix` rows of `rowLength` elements: rows `0, 2, 4, …` then `1, 3, 5, …`.
 * For gpt-oss `mlp1` (gate/up interleaved) this yields `[gate; up]`. Works on blocks (rowLength =
 * G·16 bytes), scales (G), biases (1) or dequantized rows (K).
 */
export function deinterleaveRowPairs<T extends RowArray>(src: T, rowLength: number, rowsPerMatrix: number, out?: T): T {
  const mats = checkRows('deinterleaveRowPairs', src, rowLength, rowsPerMatrix);
  const o = out ?? (new (src.constructor as new (n: number) => T)(src.length));
  const half = rowsPerMatrix / 2;
  for (let m = 0; m < mats; m++) {
    const base = m * rowsPerMatrix * rowLength;
    for (let r = 0; r < rowsPerMatrix; r++) {
      const dstRow = (r & 1) === 0 ? r >> 1 : half + (r >> 1);
      o.set(src.subarray(base + r * rowLength, base + (r + 1) * rowLength), base + dstRow * rowLength);
    }
  }
  return o;
}

/** Inverse of {@link deinterleaveRowPairs}: `[first half; second half]` → alternating rows. */
export function interleaveRowPairs<T extends RowArray>(src: T, rowLength: number, rowsPerMatrix: number, out?: T): T {
  const mats = checkRows('interleaveRowPairs', src, rowLength, rowsPerMatrix);
  const o = out ?? (new (src.constructor as new (n: number) => T)(src.length));
  const half = rowsPerMatrix / 2;
  for (let m = 0; m < mats; m++) {
    const base = m * rowsPerMatrix * rowLength;
    for (let r = 0; r < rowsPerMatrix; r++) {
      const srcRow = (r & 1) === 0 ? r >> 1 : half + (r >> 1);
      o.set(src.subarray(base + srcRow * rowLength, base + (srcRow + 1) * rowLength), base + r * rowLength);
    }
  }
  return o;
}
