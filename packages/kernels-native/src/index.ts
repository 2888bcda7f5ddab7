export { isAvailable, loadError } from './loader.js';
export {
  getIsa,
  setIsa,
  supportedIsas,
  cpuFeatures,
  getThreads,
  setThreads,
  getPrefillPrecision,
  setPrefillPrecision,
  getPrefillInt16,
  setPrefillInt16,
  getDecodePrecision,
  setDecodePrecision,
  getDecodeInt16,
  setDecodeInt16,
  readOpProfile,
  setOpProfiling,
  matmul,
  matmulSync,
  rmsnorm,
  rmsnormSync,
  rope,
  ropeSync,
  attention,
  attentionSync,
  routerTopkSync,
  moe,
  moeSync,
  unembedTopk,
  unembedTopkSync,
  embedSync,
} from './kernels.js';
export type { OpName, PrefillPrecision } from './binding.js';
export type {
  Isa,
  SmallVector,
  WeightMatrix,
  MatmulParams,
  RmsnormParams,
  RopeConfig,
  RopeParams,
  AttentionParams,
  MoeParams,
  UnembedParams,
} from './kernels.js';
export { CpuModel } from './model.js';
export type { CpuModelOptions, KvCacheHandle, ForwardParams, ForwardResult, NativeModelDims, NativeTensorRef } from './model.js';
export { GptossError, NativeAddonUnavailableError, KernelArgumentError } from './errors.js';
