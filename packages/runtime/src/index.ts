export { GptossError, CheckpointFormatError, BackendUnavailableError, InvalidArgumentError } from './errors.js';
export type { CheckpointProblem } from './errors.js';
export {
  PRESETS,
  presetConfig,
  parseConfigJson,
  checkConfig,
  toOriginalConfigJson,
  toHfConfigJson,
  maxContextLength,
  RMS_NORM_EPS,
  SWIGLU_ALPHA,
} from './config.js';
export type { ModelConfig, PresetName, CheckpointLayout } from './config.js';
export { tensorSpecs } from './checkpoint/tensor-specs.js';
export type { TensorSpec, WeightDType } from './checkpoint/tensor-specs.js';
export type {
  Backend,
  BackendName,
  Availability,
  StoredTensorRef,
  WeightTensor,
  WeightSource,
  ModelSource,
  LoadOptions,
  LoadProgress,
  LogitsMode,
  PrefillOptions,
  Sequence,
  DecodeItem,
  DeviceGenerateOptions,
  DeviceToken,
  LoadedModel,
} from './backend/types.js';
export { openCheckpoint } from './checkpoint/open-checkpoint.js';
export type { Checkpoint } from './checkpoint/open-checkpoint.js';
export { createCheckpoint } from './checkpoint/create-checkpoint.js';
export type { CreateCheckpointOptions, CreatedCheckpoint } from './checkpoint/create-checkpoint.js';
export { weightsDigest } from './checkpoint/digest.js';
export { referenceBackend } from './backends/reference/reference-backend.js';
export type { ReferenceBackendOptions } from './backends/reference/reference-backend.js';
export { BACKEND_NAMES, listBackends, selectBackend, registerBackend, getBackend } from './select-backend.js';
export type { BackendStatus, BackendChoice } from './select-backend.js';
export { Sampler } from './sampling.js';
export type { SamplingOptions, SampledToken, TokenLogprob } from './sampling.js';
export { Model, Session, loadModel } from './model.js';
export type { LoadModelOptions, GenerateOptions, GenerateEvent, GenerationStats, StopReason } from './model.js';
export { ensureDefaultModel, defaultModelPath, cacheDir, DEFAULT_MODEL_NOTICE } from './default-model.js';
export { Rng } from './rng.js';
