import { CheckpointFormatError, type CheckpointProblem } from './errors.js';

/**
 * Hyper-parameters of a gpt-oss model (SPEC §1.1), camelCased. The same object describes both checkpoint layouts.
 */
export interface ModelConfig {
  numHiddenLayers: number;
  numExperts: number;
  expertsPerToken: number;
  vocabSize: number;
  hiddenSize: number;
  /** Per-expert intermediate size (the MoE up-projection is twice this wide). */
  intermediateSize: number;
  swigluLimit: number;
  headDim: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** Window of the sliding-window layers (even layer indices). */
  slidingWindow: number;
  initialContextLength: number;
  ropeTheta: number;
  ropeScalingFactor: number;
  ropeNtkAlpha: number;
  ropeNtkBeta: number;
}

/** Constants of the architecture that config.json does not carry. */
export const RMS_NORM_EPS = 1e-5;
export const SWIGLU_ALPHA = 1.702;

export type PresetName = 'tiny' | 'gpt-oss-20b' | 'gpt-oss-120b';

const FULL: ModelConfig = {
  numHiddenLayers: 36,
  numExperts: 128,
  expertsPerToken: 4,
  vocabSize: 201088,
  hiddenSize: 2880,
  intermediateSize: 2880,
  swigluLimit: 7.0,
  headDim: 64,
  numAttentionHeads: 64,
  numKeyValueHeads: 8,
  slidingWindow: 128,
  initialContextLength: 4096,
  ropeTheta: 150000,
  ropeScalingFactor: 32.0,
  ropeNtkAlpha: 1.0,
  ropeNtkBeta: 32.0,
};

/**
 * Named configurations. `tiny` keeps the real vocabulary (so the harmony tokenizer works against it) and the real
 * head size, and shrinks everything else so that it is made in seconds and runs fast on the reference backend.
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<ModelConfig>>> = {
  tiny: {
    ...FULL,
    numHiddenLayers: 2,
    numExperts: 8,
    hiddenSize: 64,
    intermediateSize: 64,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    slidingWindow: 16,
  },
  'gpt-oss-20b': { ...FULL, numHiddenLayers: 24, numExperts: 32 },
  'gpt-oss-120b': { ...FULL },
};

export function presetConfig(name: PresetName, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base = PRESETS[name];
  if (!base) throw new TypeError(`unknown preset "${String(name)}": expected one of ${Object.keys(PRESETS).join(', ')}`);
  return { ...base, ...overrides };
}

/** snake_case key in original/config.json → ModelConfig field. */
const ORIGINAL_KEYS: ReadonlyArray<readonly [string, keyof ModelConfig]> = [
  ['num_hidden_layers', 'numHiddenLayers'],
  ['num_experts', 'numExperts'],
  ['experts_per_token', 'expertsPerToken'],
  ['vocab_size', 'vocabSize'],
  ['hidden_size', 'hiddenSize'],
  ['intermediate_size', 'intermediateSize'],
  ['swiglu_limit', 'swigluLimit'],
  ['head_dim', 'headDim'],
  ['num_attention_heads', 'numAttentionHeads'],
  ['num_key_value_heads', 'numKeyValueHeads'],
  ['sliding_window', 'slidingWindow'],
  ['initial_context_length', 'initialContextLength'],
  ['rope_theta', 'ropeTheta'],
  ['rope_scaling_factor', 'ropeScalingFactor'],
  ['rope_ntk_alpha', 'ropeNtkAlpha'],
  ['rope_ntk_beta', 'ropeNtkBeta'],
];

/**
 * Keys that decide tensor shapes. The seed's ModelConfig has defaults for all of them, but a config.json that
 * leaves one out is almost certainly not a gpt-oss config, and guessing 128 experts only turns the problem into
 * a confusing shape error later, so we require them.
 */
const REQUIRED: ReadonlyArray<keyof ModelConfig> = [
  'numHiddenLayers',
  'numExperts',
  'vocabSize',
  'hiddenSize',
  'intermediateSize',
  'headDim',
  'numAttentionHeads',
  'numKeyValueHeads',
];

export type CheckpointLayout = 'original' | 'hf';

/** Does this parsed config.json look like the Hugging Face one (transformers' GptOssConfig)? */
export function isHfConfigJson(json: Record<string, unknown>): boolean {
  return json.model_type === 'gpt_oss' || 'num_local_experts' in json || 'rope_scaling' in json;
}

/**
 * Parses either layout's config.json into a validated ModelConfig. Throws one CheckpointFormatError listing every
 * missing or invalid key.
 */
export function parseConfigJson(json: unknown, where = 'config.json'): { config: ModelConfig; layout: CheckpointLayout } {
  const problems: CheckpointProblem[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CheckpointFormatError(where, [{ kind: 'bad-config', message: `${where} must hold a JSON object` }]);
  }
  const j = json as Record<string, unknown>;
  const layout: CheckpointLayout = isHfConfigJson(j) ? 'hf' : 'original';
  const raw: Record<string, unknown> = {};
  for (const [key, field] of ORIGINAL_KEYS) if (key in j) raw[field] = j[key];
  if (layout === 'hf') {
    if ('num_local_experts' in j) raw.numExperts = j.num_local_experts;
    if (!('expertsPerToken' in raw) && 'num_experts_per_tok' in j) raw.expertsPerToken = j.num_experts_per_tok;
    const rs = j.rope_scaling;
    if (rs && typeof rs === 'object') {
      const r = rs as Record<string, unknown>;
      if ('factor' in r) raw.ropeScalingFactor = r.factor;
      if ('beta_fast' in r) raw.ropeNtkBeta = r.beta_fast;
      if ('beta_slow' in r) raw.ropeNtkAlpha = r.beta_slow;
      if ('original_max_position_embeddings' in r && !('initialContextLength' in raw)) {
        raw.initialContextLength = r.original_max_position_embeddings;
      }
    } else if (rs === null) {
      raw.ropeScalingFactor = 1.0;
    }
  }
  for (const field of REQUIRED) {
    if (!(field in raw)) {
      const key = layout === 'hf' && field === 'numExperts' ? 'num_local_experts' : snake(field);
      problems.push({ kind: 'bad-config', subject: key, message: `${where}: required key "${key}" is missing` });
    }
  }
  const config: ModelConfig = { ...FULL };
  for (const [key, field] of ORIGINAL_KEYS) {
    if (!(field in raw)) continue;
    const v = raw[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push({ kind: 'bad-config', subject: key, message: `${where}: "${key}" must be a number, found ${JSON.stringify(v)}` });
      continue;
    }
    config[field] = v;
  }
  if (problems.length === 0) problems.push(...checkConfig(config, where));
  if (problems.length) throw new CheckpointFormatError(where, problems);
  return { config, layout };
}

function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Structural checks on a config (positive integers, MXFP4 blocking, GQA divisibility, RoPE schedule). */
export function checkConfig(c: ModelConfig, where = 'config'): CheckpointProblem[] {
  const problems: CheckpointProblem[] = [];
  const bad = (subject: string, message: string) => problems.push({ kind: 'bad-config', subject, message: `${where}: ${message}` });
  const ints: Array<keyof ModelConfig> = [
    'numHiddenLayers', 'numExperts', 'expertsPerToken', 'vocabSize', 'hiddenSize', 'intermediateSize', 'headDim',
    'numAttentionHeads', 'numKeyValueHeads', 'slidingWindow', 'initialContextLength',
  ];
  for (const f of ints) {
    if (!Number.isInteger(c[f]) || c[f] <= 0) bad(snake(f), `"${snake(f)}" must be a positive integer, found ${c[f]}`);
  }
  if (problems.length) return problems;
  if (c.hiddenSize % 32 !== 0) bad('hidden_size', `"hidden_size" must be a multiple of 32 (MXFP4 blocks), found ${c.hiddenSize}`);
  if (c.intermediateSize % 32 !== 0) bad('intermediate_size', `"intermediate_size" must be a multiple of 32 (MXFP4 blocks), found ${c.intermediateSize}`);
  if (c.headDim % 2 !== 0) bad('head_dim', `"head_dim" must be even (RoPE pairs halves), found ${c.headDim}`);
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    bad('num_attention_heads', `"num_attention_heads" (${c.numAttentionHeads}) must be a multiple of "num_key_value_heads" (${c.numKeyValueHeads})`);
  }
  if (c.expertsPerToken > c.numExperts) {
    bad('experts_per_token', `"experts_per_token" (${c.expertsPerToken}) exceeds "num_experts" (${c.numExperts})`);
  }
  if (!(c.ropeTheta > 1)) bad('rope_theta', `"rope_theta" must be > 1, found ${c.ropeTheta}`);
  if (c.ropeScalingFactor > 1) {
    const dHalf = c.headDim / 2;
    const low = (dHalf * Math.log(c.initialContextLength / (c.ropeNtkBeta * 2 * Math.PI))) / Math.log(c.ropeTheta);
    const high = (dHalf * Math.log(c.initialContextLength / (c.ropeNtkAlpha * 2 * Math.PI))) / Math.log(c.ropeTheta);
    if (!(low > 0 && low < high && high < dHalf - 1)) {
      bad('rope_scaling_factor', `YaRN needs 0 < low < high < head_dim/2 - 1, found low=${low}, high=${high}; check rope_* keys and head_dim`);
    }
  }
  return problems;
}

/** original/config.json content (exactly the seed's 16 keys, so its `ModelConfig(**json)` accepts it). */
export function toOriginalConfigJson(c: ModelConfig): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, field] of ORIGINAL_KEYS) out[key] = c[field];
  return out;
}

/** Hugging Face config.json content, as transformers' conversion script writes it. */
export function toHfConfigJson(c: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['GptOssForCausalLM'],
    model_type: 'gpt_oss',
    num_hidden_layers: c.numHiddenLayers,
    num_local_experts: c.numExperts,
    experts_per_token: c.expertsPerToken,
    num_experts_per_tok: c.expertsPerToken,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    swiglu_limit: c.swigluLimit,
    head_dim: c.headDim,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    sliding_window: c.slidingWindow,
    initial_context_length: c.initialContextLength,
    rope_theta: c.ropeTheta,
    rope_scaling: {
      rope_type: 'yarn',
      factor: c.ropeScalingFactor,
      beta_fast: c.ropeNtkBeta,
      beta_slow: c.ropeNtkAlpha,
      truncate: false,
      original_max_position_embeddings: c.initialContextLength,
    },
    rms_norm_eps: RMS_NORM_EPS,
    max_position_embeddings: c.initialContextLength * c.ropeScalingFactor,
    attention_bias: true,
    tie_word_embeddings: false,
    eos_token_id: 200002,
    pad_token_id: 199999,
    layer_types: Array.from({ length: c.numHiddenLayers }, (_, i) => (i % 2 === 0 ? 'sliding_attention' : 'full_attention')),
    quantization_config: {
      quant_method: 'mxfp4',
      modules_to_not_convert: ['model.layers.*.self_attn', 'model.layers.*.mlp.router', 'model.embed_tokens', 'lm_head'],
    },
  };
}

/** Longest context the RoPE schedule supports (initial_context_length × rope_scaling_factor). */
export function maxContextLength(c: ModelConfig): number {
  return Math.round(c.initialContextLength * Math.max(1, c.ropeScalingFactor));
}

/** Window for layer `layer`, or 0 for full causal attention (odd layers). */
export function layerWindow(c: ModelConfig, layer: number): number {
  return layer % 2 === 0 ? c.slidingWindow : 0;
}
