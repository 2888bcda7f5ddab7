import { RMS_NORM_EPS, SWIGLU_ALPHA, layerWindow, maxContextLength, type ModelConfig } from '../../config.js';
import { bf16ToF32Array, dequantMxfp4 } from '../../codec.js';
import { InvalidArgumentError } from '../../errors.js';
import { applyRope, ropeAngles, ropeTables, type RopeTables } from '../../model/rope.js';
import { dot, linear, rmsNorm, swiglu, topK } from '../../model/math.js';
import type {
  Backend,
  DecodeItem,
  LoadOptions,
  LoadedModel,
  ModelSource,
  PrefillOptions,
  Sequence,
  WeightSource,
} from '../../backend/types.js';
import { checkPrefill, checkTruncate, ownedSequence, sequenceCapacity } from '../../backend/sequence-checks.js';

interface LayerWeights {
  attnNorm: Float32Array;
  qkvW: Float32Array;
  qkvB: Float32Array;
  sinks: Float32Array;
  outW: Float32Array;
  outB: Float32Array;
  mlpNorm: Float32Array;
  gateW: Float32Array;
  gateB: Float32Array;
  mlp1Bias: Float32Array;
  mlp2Bias: Float32Array;
  window: number;
}

interface Expert {
  w1: Float32Array; // [2I, H]
  w2: Float32Array; // [H, I]
}

async function readF32(weights: WeightSource, name: string): Promise<Float32Array> {
  const t = weights.tensor(name);
  const bytes = await t.read();
  if (t.dtype === 'F32') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return bf16ToF32Array(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
}

async function readU16(weights: WeightSource, name: string): Promise<Uint16Array> {
  const bytes = await weights.tensor(name).read();
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

class ReferenceSequence implements Sequence {
  readonly tokens: number[] = [];
  /** Per layer: post-RoPE keys and values, [capacity, Nkv, D]. */
  k: Float32Array[];
  v: Float32Array[];
  disposed = false;
  constructor(readonly capacity: number, c: ModelConfig) {
    const width = c.numKeyValueHeads * c.headDim;
    // Grown on demand so that a sequence with a large capacity costs nothing until used.
    this.k = Array.from({ length: c.numHiddenLayers }, () => new Float32Array(0));
    this.v = Array.from({ length: c.numHiddenLayers }, () => new Float32Array(0));
    this.width = width;
  }
  private readonly width: number;
  get length(): number {
    return this.tokens.length;
  }
  ensure(n: number): void {
    const need = n * this.width;
    if (this.k[0].length >= need) return;
    const size = Math.min(this.capacity, Math.max(n, 2 * (this.k[0].length / this.width), 64)) * this.width;
    for (let l = 0; l < this.k.length; l++) {
      const k = new Float32Array(size);
      k.set(this.k[l]);
      const v = new Float32Array(size);
      v.set(this.v[l]);
      this.k[l] = k;
      this.v[l] = v;
    }
  }
  truncate(length: number): void {
    checkTruncate(length, this.tokens.length);
    // The cache is kept in full for every layer, so cutting it is only forgetting the tail.
    this.tokens.length = length;
  }
  dispose(): void {
    this.disposed = true;
    this.k = [];
    this.v = [];
  }
}

class ReferenceModel implements LoadedModel {
  readonly backend = 'reference' as const;
  private readonly experts: Map<string, Expert> = new Map();
  private expertBytes = 0;
  private readonly sequences = new Set<ReferenceSequence>();
  constructor(
    readonly config: ModelConfig,
    readonly maxContext: number,
    private readonly weights: WeightSource,
    private readonly embedding: Uint16Array,
    private readonly unembedding: Float32Array,
    private readonly finalNorm: Float32Array,
    private readonly layers: LayerWeights[],
    private readonly rope: RopeTables,
    private readonly expertCacheBytes: number,
  ) {}

  createSequence(options?: { capacity?: number }): Sequence {
    const capacity = sequenceCapacity(options?.capacity, this.maxContext);
    const s = new ReferenceSequence(capacity, this.config);
    this.sequences.add(s);
    return s;
  }

  private seq(s: Sequence): ReferenceSequence {
    return ownedSequence(s, this.sequences);
  }

  async prefill(sequence: Sequence, tokens: ArrayLike<number>, options?: PrefillOptions): Promise<Float32Array> {
    const s = this.seq(sequence);
    const mode = options?.logits ?? 'last';
    const T = tokens.length;
    checkPrefill(s, T);
    const x = await this.forward(s, Array.from(tokens));
    if (mode === 'none') return new Float32Array(0);
    if (mode === 'last') return this.logits(x.subarray((T - 1) * this.config.hiddenSize), 1);
    return this.logits(x, T);
  }

  async decode(batch: readonly DecodeItem[]): Promise<Float32Array> {
    const V = this.config.vocabSize;
    const out = new Float32Array(batch.length * V);
    const seen = new Set<Sequence>();
    for (const item of batch) {
      if (seen.has(item.sequence)) throw new InvalidArgumentError('a decode batch must not name the same sequence twice');
      seen.add(item.sequence);
    }
    // The layers run per sequence (each has its own cache); the unembedding, the largest matrix, runs once for the
    // whole batch so its weights are streamed once. Rows are independent, so batched equals single exactly.
    const H = this.config.hiddenSize;
    const hidden = new Float32Array(batch.length * H);
    for (let b = 0; b < batch.length; b++) {
      const s = this.seq(batch[b].sequence);
      if (s.length + 1 > s.capacity) throw new InvalidArgumentError(`sequence is full (capacity ${s.capacity})`);
      hidden.set(await this.forward(s, [batch[b].token]), b * H);
    }
    out.set(this.logits(hidden, batch.length));
    return out;
  }

  describe(): Record<string, string> {
    return { compute: 'fp32 TypeScript', experts: `dequantised lazily, ${this.experts.size} cached` };
  }

  async dispose(): Promise<void> {
    for (const s of this.sequences) s.dispose();
    this.sequences.clear();
    this.experts.clear();
  }

  private async expert(layer: number, e: number): Promise<Expert> {
    const key = `${layer}:${e}`;
    const hit = this.experts.get(key);
    if (hit) {
      this.experts.delete(key);
      this.experts.set(key, hit);
      return hit;
    }
    const c = this.config;
    const H = c.hiddenSize;
    const I = c.intermediateSize;
    const b = `block.${layer}.mlp`;
    const part = async (name: string, perExpert: number) => this.weights.tensor(name).readRange(e * perExpert, (e + 1) * perExpert);
    const [b1, s1, b2, s2] = await Promise.all([
      part(`${b}.mlp1_weight.blocks`, 2 * I * (H / 2)),
      part(`${b}.mlp1_weight.scales`, 2 * I * (H / 32)),
      part(`${b}.mlp2_weight.blocks`, H * (I / 2)),
      part(`${b}.mlp2_weight.scales`, H * (I / 32)),
    ]);
    const ex: Expert = { w1: dequantMxfp4(b1, s1), w2: dequantMxfp4(b2, s2) };
    const bytes = (ex.w1.length + ex.w2.length) * 4;
    // Evict least recently used experts to stay within the byte budget (at full size one expert is ~100 MB).
    while (this.experts.size > 0 && this.expertBytes + bytes > this.expertCacheBytes) {
      const [oldKey, old] = this.experts.entries().next().value as [string, Expert];
      this.experts.delete(oldKey);
      this.expertBytes -= (old.w1.length + old.w2.length) * 4;
    }
    this.experts.set(key, ex);
    this.expertBytes += bytes;
    return ex;
  }

  /** Runs `tokens` through every layer, appending to the cache; returns the final hidden states [T, H]. */
  private async forward(s: ReferenceSequence, tokens: number[]): Promise<Float32Array> {
    const c = this.config;
    const H = c.hiddenSize;
    const D = c.headDim;
    const Nq = c.numAttentionHeads;
    const Nkv = c.numKeyValueHeads;
    const qMult = Nq / Nkv;
    const qkvDim = D * (Nq + 2 * Nkv);
    const kvW = Nkv * D;
    const T = tokens.length;
    const p0 = s.length;
    s.ensure(p0 + T);

    const x = new Float32Array(T * H);
    for (let t = 0; t < T; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new InvalidArgumentError(`token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
      }
      bf16ToF32Array(this.embedding.subarray(id * H, (id + 1) * H), x.subarray(t * H, (t + 1) * H));
    }
    const tn = new Float32Array(T * H);
    const qkv = new Float32Array(T * qkvDim);
    const attn = new Float32Array(T * Nq * D);
    const proj = new Float32Array(T * H);
    const cos = new Float32Array(D / 2);
    const sin = new Float32Array(D / 2);
    const smScale = 1 / Math.sqrt(D);
    const scores = new Float32Array(p0 + T);

    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      rmsNorm(x, L.attnNorm, T, RMS_NORM_EPS, tn);
      linear(tn, T, L.qkvW, L.qkvB, qkvDim, H, qkv);
      const K = s.k[l];
      const Vc = s.v[l];
      for (let t = 0; t < T; t++) {
        ropeAngles(this.rope, p0 + t, cos, sin);
        const o = t * qkvDim;
        applyRope(qkv, o, Nq + Nkv, cos, sin); // q heads then k heads are contiguous
        K.set(qkv.subarray(o + Nq * D, o + Nq * D + kvW), (p0 + t) * kvW);
        Vc.set(qkv.subarray(o + Nq * D + kvW, o + qkvDim), (p0 + t) * kvW);
      }
      for (let t = 0; t < T; t++) {
        const pos = p0 + t;
        const start = L.window > 0 ? Math.max(0, pos - L.window + 1) : 0;
        for (let h = 0; h < Nq; h++) {
          const g = Math.floor(h / qMult);
          const qo = t * qkvDim + h * D;
          let max = L.sinks[h];
          for (let j = start; j <= pos; j++) {
            const sc = dot(qkv, qo, K, j * kvW + g * D, D) * smScale;
            scores[j] = sc;
            if (sc > max) max = sc;
          }
          let z = Math.exp(L.sinks[h] - max);
          for (let j = start; j <= pos; j++) {
            const e = Math.exp(scores[j] - max);
            scores[j] = e;
            z += e;
          }
          const ao = t * Nq * D + h * D;
          attn.fill(0, ao, ao + D);
          for (let j = start; j <= pos; j++) {
            const w = scores[j] / z;
            const vo = j * kvW + g * D;
            for (let d = 0; d < D; d++) attn[ao + d] += w * Vc[vo + d];
          }
        }
      }
      linear(attn, T, L.outW, L.outB, H, Nq * D, proj);
      for (let i = 0; i < x.length; i++) x[i] += proj[i];

      rmsNorm(x, L.mlpNorm, T, RMS_NORM_EPS, tn);
      await this.moe(l, L, tn, T, x);
    }
    for (let t = 0; t < T; t++) s.tokens.push(tokens[t]);
    return x;
  }

  /** x += MoE(t) for T tokens. */
  private async moe(l: number, L: LayerWeights, t: Float32Array, T: number, x: Float32Array): Promise<void> {
    const c = this.config;
    const H = c.hiddenSize;
    const I = c.intermediateSize;
    const E = c.numExperts;
    const router = new Float32Array(T * E);
    linear(t, T, L.gateW, L.gateB, E, H, router);
    const h1 = new Float32Array(2 * I);
    const a = new Float32Array(I);
    const o = new Float32Array(H);
    for (let tok = 0; tok < T; tok++) {
      const logits = router.subarray(tok * E, (tok + 1) * E);
      const top = topK(logits, c.expertsPerToken);
      const max = logits[top[0]];
      const ws = top.map((e) => Math.exp(logits[e] - max));
      const z = ws.reduce((p, q) => p + q, 0);
      const xt = t.subarray(tok * H, (tok + 1) * H);
      for (let r = 0; r < top.length; r++) {
        const e = top[r];
        const ex = await this.expert(l, e);
        linear(xt, 1, ex.w1, L.mlp1Bias.subarray(e * 2 * I, (e + 1) * 2 * I), 2 * I, H, h1);
        swiglu(h1, a, c.swigluLimit, SWIGLU_ALPHA);
        linear(a, 1, ex.w2, L.mlp2Bias.subarray(e * H, (e + 1) * H), H, I, o);
        const w = ws[r] / z;
        const xo = tok * H;
        for (let i = 0; i < H; i++) x[xo + i] += w * o[i];
      }
    }
  }

  private logits(x: Float32Array, rows: number): Float32Array {
    const c = this.config;
    const n = new Float32Array(rows * c.hiddenSize);
    rmsNorm(x, this.finalNorm, rows, RMS_NORM_EPS, n);
    return linear(n, rows, this.unembedding, null, c.vocabSize, c.hiddenSize, new Float32Array(rows * c.vocabSize));
  }
}

export interface ReferenceBackendOptions {
  /** Bytes of dequantised (fp32) experts to keep, least recently used evicted first. Default 1 GiB. */
  expertCacheBytes?: number;
}

/**
 * The plain-TypeScript fp32 backend: the correctness baseline, not the fast path. Dense weights are converted to
 * fp32 at load; MXFP4 experts are dequantised when first used and kept in an LRU cache.
 */
export function referenceBackend(options: ReferenceBackendOptions = {}): Backend {
  return {
    name: 'reference',
    async available() {
      return { ok: true, detail: 'plain TypeScript, fp32' };
    },
    async load(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
      const c = source.config;
      const w = source.weights;
      const total = w.names.reduce((s, n) => s + (n.includes('mlp1_weight') || n.includes('mlp2_weight') ? 0 : w.tensor(n).byteLength), 0);
      let loaded = 0;
      const step = async <T>(name: string, f: (w: WeightSource, n: string) => Promise<T>): Promise<T> => {
        opts.signal?.throwIfAborted();
        const r = await f(w, name);
        loaded += w.tensor(name).byteLength;
        opts.onProgress?.({ loadedBytes: loaded, totalBytes: total, tensor: name });
        return r;
      };
      const embedding = await step('embedding.weight', readU16);
      const layers: LayerWeights[] = [];
      for (let l = 0; l < c.numHiddenLayers; l++) {
        const b = `block.${l}`;
        layers.push({
          attnNorm: await step(`${b}.attn.norm.scale`, readF32),
          qkvW: await step(`${b}.attn.qkv.weight`, readF32),
          qkvB: await step(`${b}.attn.qkv.bias`, readF32),
          sinks: await step(`${b}.attn.sinks`, readF32),
          outW: await step(`${b}.attn.out.weight`, readF32),
          outB: await step(`${b}.attn.out.bias`, readF32),
          mlpNorm: await step(`${b}.mlp.norm.scale`, readF32),
          gateW: await step(`${b}.mlp.gate.weight`, readF32),
          gateB: await step(`${b}.mlp.gate.bias`, readF32),
          mlp1Bias: await step(`${b}.mlp.mlp1_bias`, readF32),
          mlp2Bias: await step(`${b}.mlp.mlp2_bias`, readF32),
          window: layerWindow(c, l),
        });
      }
      const finalNorm = await step('norm.scale', readF32);
      const unembedding = await step('unembedding.weight', readF32);
      const maxContext = Math.min(opts.maxContext ?? 8192, maxContextLength(c));
      return new ReferenceModel(c, maxContext, w, embedding, unembedding, finalNorm, layers, ropeTables(c), options.expertCacheBytes ?? 2 ** 30);
    },
  };
}
