import type { ModelConfig, CheckpointLayout } from '../config.js';

/** dtypes a gpt-oss checkpoint uses. Norm scales may also be F32 (Hugging Face keeps norms in their source dtype). */
export type WeightDType = 'BF16' | 'F32' | 'U8';

/**
 * One logical tensor of the model, named as in the original/ layout. In the Hugging Face layout the same tensor is
 * stored under another name, or (qkv) as several stored tensors concatenated along dimension 0.
 */
export interface TensorSpec {
  name: string;
  dtype: WeightDType;
  /** dtypes accepted besides `dtype` (norm scales: F32). */
  altDtypes?: WeightDType[];
  shape: number[];
}

/** Every tensor of the original/ layout in file order, with the dtype and shape the config implies. */
export function tensorSpecs(c: ModelConfig): TensorSpec[] {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const E = c.numExperts;
  const D = c.headDim;
  const qkv = D * (c.numAttentionHeads + 2 * c.numKeyValueHeads);
  const norm = (name: string): TensorSpec => ({ name, dtype: 'BF16', altDtypes: ['F32'], shape: [H] });
  const specs: TensorSpec[] = [{ name: 'embedding.weight', dtype: 'BF16', shape: [c.vocabSize, H] }];
  for (let n = 0; n < c.numHiddenLayers; n++) {
    const b = `block.${n}`;
    specs.push(
      norm(`${b}.attn.norm.scale`),
      { name: `${b}.attn.qkv.weight`, dtype: 'BF16', shape: [qkv, H] },
      { name: `${b}.attn.qkv.bias`, dtype: 'BF16', shape: [qkv] },
      { name: `${b}.attn.sinks`, dtype: 'BF16', altDtypes: ['F32'], shape: [c.numAttentionHeads] },
      { name: `${b}.attn.out.weight`, dtype: 'BF16', shape: [H, D * c.numAttentionHeads] },
      { name: `${b}.attn.out.bias`, dtype: 'BF16', shape: [H] },
      norm(`${b}.mlp.norm.scale`),
      { name: `${b}.mlp.gate.weight`, dtype: 'BF16', shape: [E, H] },
      { name: `${b}.mlp.gate.bias`, dtype: 'BF16', shape: [E] },
      { name: `${b}.mlp.mlp1_weight.blocks`, dtype: 'U8', shape: [E, 2 * I, H / 32, 16] },
      { name: `${b}.mlp.mlp1_weight.scales`, dtype: 'U8', shape: [E, 2 * I, H / 32] },
      { name: `${b}.mlp.mlp1_bias`, dtype: 'BF16', shape: [E, 2 * I] },
      { name: `${b}.mlp.mlp2_weight.blocks`, dtype: 'U8', shape: [E, H, I / 32, 16] },
      { name: `${b}.mlp.mlp2_weight.scales`, dtype: 'U8', shape: [E, H, I / 32] },
      { name: `${b}.mlp.mlp2_bias`, dtype: 'BF16', shape: [E, H] },
    );
  }
  specs.push(norm('norm.scale'), { name: 'unembedding.weight', dtype: 'BF16', shape: [c.vocabSize, H] });
  return specs;
}

/** A stored tensor that holds rows `[rowStart, rowStart + rows)` (dimension 0) of a logical tensor. */
export interface StoredPart {
  name: string;
  shape: number[];
}

/**
 * Where a logical (original-layout) tensor lives in a layout: the stored tensor names whose bytes, concatenated in
 * order, are the logical tensor's bytes (dimension-0 concatenation of row-major tensors is byte concatenation).
 */
export function storedParts(spec: TensorSpec, layout: CheckpointLayout, c: ModelConfig): StoredPart[] {
  if (layout === 'original') return [{ name: spec.name, shape: spec.shape }];
  const name = spec.name;
  const fixed: Record<string, string> = {
    'embedding.weight': 'model.embed_tokens.weight',
    'unembedding.weight': 'lm_head.weight',
    'norm.scale': 'model.norm.weight',
  };
  if (fixed[name]) return [{ name: fixed[name], shape: spec.shape }];
  const m = /^block\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new Error(`no Hugging Face name for ${name}`);
  const l = `model.layers.${m[1]}`;
  const rest = m[2];
  const D = c.headDim;
  if (rest === 'attn.qkv.weight' || rest === 'attn.qkv.bias') {
    const kind = rest.endsWith('weight') ? 'weight' : 'bias';
    const tail = kind === 'weight' ? [c.hiddenSize] : [];
    return [
      { name: `${l}.self_attn.q_proj.${kind}`, shape: [D * c.numAttentionHeads, ...tail] },
      { name: `${l}.self_attn.k_proj.${kind}`, shape: [D * c.numKeyValueHeads, ...tail] },
      { name: `${l}.self_attn.v_proj.${kind}`, shape: [D * c.numKeyValueHeads, ...tail] },
    ];
  }
  const map: Record<string, string> = {
    'attn.norm.scale': 'input_layernorm.weight',
    'attn.sinks': 'self_attn.sinks',
    'attn.out.weight': 'self_attn.o_proj.weight',
    'attn.out.bias': 'self_attn.o_proj.bias',
    'mlp.norm.scale': 'post_attention_layernorm.weight',
    'mlp.gate.weight': 'mlp.router.weight',
    'mlp.gate.bias': 'mlp.router.bias',
    'mlp.mlp1_weight.blocks': 'mlp.experts.gate_up_proj_blocks',
    'mlp.mlp1_weight.scales': 'mlp.experts.gate_up_proj_scales',
    'mlp.mlp1_bias': 'mlp.experts.gate_up_proj_bias',
    'mlp.mlp2_weight.blocks': 'mlp.experts.down_proj_blocks',
    'mlp.mlp2_weight.scales': 'mlp.experts.down_proj_scales',
    'mlp.mlp2_bias': 'mlp.experts.down_proj_bias',
  };
  const hf = map[rest];
  if (!hf) throw new Error(`no Hugging Face name for ${name}`);
  return [{ name: `${l}.${hf}`, shape: spec.shape }];
}
