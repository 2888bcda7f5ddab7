import type { GptOssConfig, TensorSource } from '../src/model/gpt-oss.js';
import { randn, rng, toBf16 } from './random.js';
import {
  randomMxfp4,
  refAttention,
  refGemv,
  refRmsNorm,
  refRope,
  refRopeTable,
  refSwiglu,
  refTopk,
} from './reference.js';

export const TINY: GptOssConfig = {
  numHiddenLayers: 2,
  numExperts: 8,
  expertsPerToken: 4,
  vocabSize: 1000,
  hiddenSize: 64,
  intermediateSize: 64,
  swigluLimit: 7,
  headDim: 64,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  slidingWindow: 16,
  initialContextLength: 4096,
  ropeTheta: 150000,
  ropeScalingFactor: 32,
  ropeNtkAlpha: 1,
  ropeNtkBeta: 32,
};

export interface TinyWeights {
  source: TensorSource;
  /** f32 values of every tensor (MXFP4 dequantised), by name. */
  values: Map<string, Float32Array>;
}

/** A random checkpoint in the original layout (bf16 dense, MXFP4 experts, f32 norms for one layer to test both). */
export function tinyWeights(c: GptOssConfig, seed = 7): TinyWeights {
  const r = rng(seed);
  const bytes = new Map<string, Uint8Array>();
  const dtypes = new Map<string, string>();
  const values = new Map<string, Float32Array>();
  const bf = (name: string, n: number, scale: number, offset = 0) => {
    const v = randn(n, r, scale);
    for (let i = 0; i < n; i++) v[i] += offset;
    const b = toBf16(v);
    bytes.set(name, new Uint8Array(b.bits.buffer));
    dtypes.set(name, 'BF16');
    values.set(name, b.values);
  };
  const f32 = (name: string, n: number, scale: number, offset = 0) => {
    const v = randn(n, r, scale);
    for (let i = 0; i < n; i++) v[i] += offset;
    bytes.set(name, new Uint8Array(v.buffer));
    dtypes.set(name, 'F32');
    values.set(name, v);
  };
  const mx = (name: string, rows: number, K: number) => {
    const m = randomMxfp4(rows, K, r, 120, 124);
    bytes.set(`${name}.blocks`, m.blocks);
    bytes.set(`${name}.scales`, m.scales);
    dtypes.set(`${name}.blocks`, 'U8');
    dtypes.set(`${name}.scales`, 'U8');
    values.set(name, m.values);
  };
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const E = c.numExperts;
  const QKVW = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim;
  bf('embedding.weight', c.vocabSize * H, 1);
  for (let n = 0; n < c.numHiddenLayers; n++) {
    const b = `block.${n}`;
    (n === 0 ? f32 : bf)(`${b}.attn.norm.scale`, H, 0.2, 1);
    bf(`${b}.attn.qkv.weight`, QKVW * H, 0.3);
    bf(`${b}.attn.qkv.bias`, QKVW, 0.1);
    (n === 0 ? f32 : bf)(`${b}.attn.sinks`, c.numAttentionHeads, 1);
    bf(`${b}.attn.out.weight`, H * c.numAttentionHeads * c.headDim, 0.05);
    bf(`${b}.attn.out.bias`, H, 0.1);
    bf(`${b}.mlp.norm.scale`, H, 0.2, 1);
    bf(`${b}.mlp.gate.weight`, E * H, 0.3);
    bf(`${b}.mlp.gate.bias`, E, 0.1);
    mx(`${b}.mlp.mlp1_weight`, E * 2 * I, H);
    bf(`${b}.mlp.mlp1_bias`, E * 2 * I, 0.1);
    mx(`${b}.mlp.mlp2_weight`, E * H, I);
    bf(`${b}.mlp.mlp2_bias`, E * H, 0.1);
  }
  bf('norm.scale', H, 0.2, 1);
  bf('unembedding.weight', c.vocabSize * H, 0.3);
  const source: TensorSource = {
    dtype: (name) => dtypes.get(name) ?? 'missing',
    read: async (name) => {
      const b = bytes.get(name);
      if (!b) throw new Error(`no tensor ${name}`);
      return b;
    },
    readRange: async (name, s, e) => bytes.get(name)!.subarray(s, e),
  };
  return { source, values };
}

/** Reference forward over a whole token sequence: logits [T, V] (f64 accumulation, SPEC §1.2). */
export function refForward(c: GptOssConfig, w: Map<string, Float32Array>, tokens: number[]): Float32Array {
  const T = tokens.length;
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const E = c.numExperts;
  const NQ = c.numAttentionHeads;
  const NKV = c.numKeyValueHeads;
  const D = c.headDim;
  const QKVW = (NQ + 2 * NKV) * D;
  const table = refRopeTable(T, D, {
    theta: c.ropeTheta,
    factor: c.ropeScalingFactor,
    alpha: c.ropeNtkAlpha,
    beta: c.ropeNtkBeta,
    L0: c.initialContextLength,
  });
  const x = new Float32Array(T * H);
  const emb = w.get('embedding.weight')!;
  tokens.forEach((t, i) => x.set(emb.subarray(t * H, (t + 1) * H), i * H));
  for (let n = 0; n < c.numHiddenLayers; n++) {
    const g = (s: string) => w.get(`block.${n}.${s}`)!;
    const t = refRmsNorm(x, g('attn.norm.scale'), T, H, 1e-5);
    const qkv = refGemv(g('attn.qkv.weight'), t, T, QKVW, H);
    const bq = g('attn.qkv.bias');
    for (let i = 0; i < T; i++) for (let j = 0; j < QKVW; j++) qkv[i * QKVW + j] += bq[j];
    const keys = new Float32Array(T * NKV * D);
    const vals = new Float32Array(T * NKV * D);
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < NQ + NKV; h++) refRope(qkv, i * QKVW + h * D, D, table, i);
      keys.set(qkv.subarray(i * QKVW + NQ * D, i * QKVW + (NQ + NKV) * D), i * NKV * D);
      vals.set(qkv.subarray(i * QKVW + (NQ + NKV) * D, (i + 1) * QKVW), i * NKV * D);
    }
    const a = new Float32Array(T * NQ * D);
    const window = n % 2 === 0 ? c.slidingWindow : 0;
    for (let i = 0; i < T; i++) {
      a.set(refAttention(qkv.subarray(i * QKVW, i * QKVW + NQ * D), keys, vals, g('attn.sinks'), NQ, NKV, D, i, window), i * NQ * D);
    }
    const o = refGemv(g('attn.out.weight'), a, T, H, NQ * D);
    const bo = g('attn.out.bias');
    for (let i = 0; i < T * H; i++) x[i] += o[i] + bo[i % H];
    const t2 = refRmsNorm(x, g('mlp.norm.scale'), T, H, 1e-5);
    const gl = refGemv(g('mlp.gate.weight'), t2, T, E, H);
    const W1 = g('mlp.mlp1_weight');
    const b1 = g('mlp.mlp1_bias');
    const W2 = g('mlp.mlp2_weight');
    const b2 = g('mlp.mlp2_bias');
    const gb = g('mlp.gate.bias');
    for (let i = 0; i < T; i++) {
      const lg = Array.from({ length: E }, (_, e) => gl[i * E + e] + gb[e]);
      const { idx, w: wts } = refTopk(lg, c.expertsPerToken);
      idx.forEach((e, s) => {
        const act = new Float32Array(I);
        for (let j = 0; j < I; j++) {
          let gate = b1[e * 2 * I + 2 * j];
          let lin = b1[e * 2 * I + 2 * j + 1];
          for (let h = 0; h < H; h++) {
            gate += W1[(e * 2 * I + 2 * j) * H + h] * t2[i * H + h];
            lin += W1[(e * 2 * I + 2 * j + 1) * H + h] * t2[i * H + h];
          }
          act[j] = refSwiglu(gate, lin, c.swigluLimit);
        }
        for (let h = 0; h < H; h++) {
          let y = b2[e * H + h];
          for (let j = 0; j < I; j++) y += W2[(e * H + h) * I + j] * act[j];
          x[i * H + h] += wts[s] * y;
        }
      });
    }
  }
  const xn = refRmsNorm(x, w.get('norm.scale')!, T, H, 1e-5);
  return refGemv(w.get('unembedding.weight')!, xn, T, c.vocabSize, H);
}
