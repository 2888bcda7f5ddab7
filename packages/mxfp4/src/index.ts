export { GptossError, Mxfp4CodecError, SafetensorsFormatError } from './errors.js';
export type { SafetensorsDType } from './dtypes.js';
export {
  SAFETENSORS_DTYPES,
  dtypeBitSize,
  dtypeByteSize,
  isSafetensorsDType,
  shapeElementCount,
  tensorByteLength,
} from './dtypes.js';
export {
  bf16ToF32,
  f16BitsToF32Bits,
  f16ToF32,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBf16,
  f32ToF16,
} from './float-convert.js';
export {
  E8M0_BIAS,
  E8M0_NAN,
  FP4_E2M1_VALUES,
  MXFP4_BLOCK_BYTES,
  MXFP4_BLOCK_SIZE,
  dequantizeMxfp4,
  dequantizeMxfp4ToBf16,
  e8m0ToNumber,
} from './mxfp4.js';
export type { ParsedHeader, TensorInfo, TensorSpec } from './safetensors-header.js';
export { MAX_HEADER_LENGTH } from './safetensors-header.js';
export { MAX_READ_CHUNK, SafetensorsFile } from './safetensors-file.js';
export type { SafetensorsWriterOptions, TensorData } from './safetensors-writer.js';
export { SafetensorsWriter, saveSafetensors } from './safetensors-writer.js';
export type { IterateOptions, TensorChunk } from './safetensors-checkpoint.js';
export { SHARDED_INDEX_NAME, SafetensorsCheckpoint, writeShardedIndex } from './safetensors-checkpoint.js';
export type { Mxfp4Tensor, QuantizeMxfp4Options } from './quantize.js';
export { quantizeMxfp4, quantizeMxfp4FromBf16 } from './quantize.js';
export type { TileRowsOptions } from './layout.js';
export {
  deinterleaveRowPairs,
  fromSplitHalvesNibbles,
  interleaveRowPairs,
  packNibbles,
  tileRows,
  toSplitHalvesNibbles,
  unpackNibbles,
  untileRows,
} from './layout.js';
