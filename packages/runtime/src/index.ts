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
  LoadedModel,
} from './backend/types.js';
