import { describe, expect, test } from 'vitest';
import { parseConfigJson, presetConfig, toHfConfigJson, toOriginalConfigJson, maxContextLength, checkConfig } from './config.js';
import { tensorSpecs } from './checkpoint/tensor-specs.js';
import { CheckpointFormatError } from './errors.js';

const bytes = (name: 'gpt-oss-20b' | 'gpt-oss-120b') =>
  tensorSpecs(presetConfig(name)).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'U8' ? 1 : 2), 0);

describe('config', () => {
  test('both config.json dialects round-trip to the same ModelConfig', () => {
    for (const preset of ['tiny', 'gpt-oss-20b', 'gpt-oss-120b'] as const) {
      const c = presetConfig(preset);
      expect(parseConfigJson(toOriginalConfigJson(c))).toEqual({ config: c, layout: 'original' });
      expect(parseConfigJson(toHfConfigJson(c))).toEqual({ config: c, layout: 'hf' });
    }
  });

  test('the original config holds exactly the seed ModelConfig keys', () => {
    expect(Object.keys(toOriginalConfigJson(presetConfig('gpt-oss-20b'))).sort()).toEqual(
      [
        'num_hidden_layers', 'num_experts', 'experts_per_token', 'vocab_size', 'hidden_size', 'intermediate_size', 'swiglu_limit',
        'head_dim', 'num_attention_heads', 'num_key_value_heads', 'sliding_window', 'initial_context_length', 'rope_theta',
        'rope_scaling_factor', 'rope_ntk_alpha', 'rope_ntk_beta',
      ].sort(),
    );
  });

  test('HF config: num_local_experts and rope_scaling map onto the original keys', () => {
    const { config } = parseConfigJson({
      ...toOriginalConfigJson(presetConfig('gpt-oss-20b')),
      num_experts: undefined,
      model_type: 'gpt_oss',
      num_local_experts: 32,
      rope_scaling: { rope_type: 'yarn', factor: 16, beta_fast: 30, beta_slow: 2, original_max_position_embeddings: 4096 },
      rope_ntk_alpha: undefined,
      rope_ntk_beta: undefined,
      rope_scaling_factor: undefined,
    });
    expect(config).toMatchObject({ numExperts: 32, ropeScalingFactor: 16, ropeNtkBeta: 30, ropeNtkAlpha: 2 });
  });

  test('full-size presets have the published sizes', () => {
    expect(bytes('gpt-oss-20b')).toBe(13_761_264_768);
    expect(bytes('gpt-oss-120b') / 1e9).toBeCloseTo(65.25, 1);
    expect(maxContextLength(presetConfig('gpt-oss-20b'))).toBe(131072);
  });

  test('structural problems are all reported', () => {
    const c = { ...presetConfig('tiny'), hiddenSize: 70, numKeyValueHeads: 3, expertsPerToken: 9 };
    expect(checkConfig(c).map((p) => p.subject)).toEqual(['hidden_size', 'num_attention_heads', 'experts_per_token']);
    expect(() => parseConfigJson([])).toThrow(CheckpointFormatError);
    expect(() => parseConfigJson({ ...toOriginalConfigJson(presetConfig('tiny')), head_dim: 4 })).toThrow(/YaRN/);
  });
});
