export { GptossError, KernelShapeError, WebGpuUnavailableError } from './errors.js';
export {
  createGpuContextFromAdapter,
  createNodeGpuContext,
  GpuContext,
  shaderText,
  StepRecorder,
  type DispatchPlan,
  Usage,
  type BindingDecl,
  type BufferRef,
  type CreateGpuOptions,
  type GpuCaps,
  type KernelProgram,
  type ParamType,
} from './gpu.js';
export { gemvBf16, gemvBf16Program, type GemvArgs, type GemvBf16Options, type WeightPart } from './kernels/gemv-bf16.js';
export { moeMlp1, moeMlp1Program, type MoeArgs, type MoeProgramOptions, type MoeShape } from './kernels/moe-mlp1.js';
export type { MoeDecodeVariant } from './wgsl.js';
export { moeMlp2, moeMlp2Program } from './kernels/moe-mlp2.js';
export {
  attention,
  attentionCombineProgram,
  attentionProgram,
  attentionSplits,
  ropeKv,
  ropeKvProgram,
  ATTN_CHUNK,
  type AttentionArgs,
  type AttentionShape,
} from './kernels/attention.js';
export { rmsNorm, rmsNormProgram } from './kernels/rmsnorm.js';
export { pcgHash, sample, sampleCandidatesFor, sampleProgram, sampleUniform, type SampleParams } from './kernels/sample.js';
export { yarnRopeTable, type RopeConfig } from './model/rope.js';
export {
  GptOssGpu,
  GpuSequence,
  type GenerateOptions,
  type GeneratedToken,
  type GptOssConfig,
  type LoadGptOssOptions,
  type TensorSource,
} from './model/gpt-oss.js';
