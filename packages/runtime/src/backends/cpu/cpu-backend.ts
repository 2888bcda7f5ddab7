import { RMS_NORM_EPS, SWIGLU_ALPHA, maxContextLength, type ModelConfig } from '../../config.js';
import { BackendUnavailableError, InvalidArgumentError } from '../../errors.js';
import type {
  Availability,
  Backend,
  DecodeItem,
  LoadOptions,
  LoadedModel,
  ModelSource,
  PrefillOptions,
  Sequence,
} from '../../backend/types.js';
import { checkPrefill, checkTruncate, ownedSequence, sequenceCapacity } from '../../backend/sequence-checks.js';
import { loadKernels, type KernelsNativeModule, type NativeCpuModel, type NativeKvCacheHandle, type NativeTensorRef } from './kernels-module.js';

/** Prompt tokens per native call: bounds activation memory for long prompts (the KV cache carries state across). */
const PREFILL_CHUNK = 256;

class CpuSequence implements Sequence {
  readonly tokens: number[] = [];
  disposed = false;
  constructor(
    readonly capacity: number,
    readonly cache: NativeKvCacheHandle,
  ) {}
  get length(): number {
    return this.tokens.length;
  }
  truncate(length: number): void {
    checkTruncate(length, this.tokens.length);
    // Cached K/V past `length` are simply overwritten by the next tokens; attention never reads beyond a position.
    this.tokens.length = length;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.dispose();
  }
}

class CpuLoadedModel implements LoadedModel {
  readonly backend = 'cpu' as const;
  private readonly sequences = new Set<CpuSequence>();
  constructor(
    readonly config: ModelConfig,
    readonly maxContext: number,
    private readonly native: NativeCpuModel,
    private readonly info: Record<string, string>,
  ) {}

  createSequence(options?: { capacity?: number }): Sequence {
    const capacity = sequenceCapacity(options?.capacity, this.maxContext);
    const s = new CpuSequence(capacity, this.native.createCache(capacity));
    this.sequences.add(s);
    return s;
  }

  private own(s: Sequence): CpuSequence {
    return ownedSequence(s, this.sequences);
  }

  async prefill(sequence: Sequence, tokens: ArrayLike<number>, options?: PrefillOptions): Promise<Float32Array> {
    const s = this.own(sequence);
    const T = tokens.length;
    const mode = options?.logits ?? 'last';
    checkPrefill(s, T);
    const V = this.config.vocabSize;
    const all = mode === 'all' ? new Float32Array(T * V) : undefined;
    let last: Float32Array | undefined;
    for (let c0 = 0; c0 < T; c0 += PREFILL_CHUNK) {
      const n = Math.min(PREFILL_CHUNK, T - c0);
      const chunk = Array.from({ length: n }, (_, i) => tokens[c0 + i]);
      const start = s.length;
      const isLast = c0 + n === T;
      const outRows = mode === 'all' ? chunk.map((_, i) => i) : mode === 'last' && isLast ? [n - 1] : [];
      const r = await this.native.forward({
        tokens: chunk,
        positions: chunk.map((_, i) => start + i),
        seq: new Int32Array(n),
        caches: [s.cache],
        outRows,
        logits: outRows.length > 0,
      });
      s.tokens.push(...chunk);
      if (all && r.logits) all.set(r.logits, c0 * V);
      else if (r.logits) last = r.logits;
    }
    return all ?? last ?? new Float32Array(0);
  }

  async decode(batch: readonly DecodeItem[]): Promise<Float32Array> {
    if (batch.length === 0) return new Float32Array(0);
    const seqs = batch.map((b) => this.own(b.sequence));
    if (new Set(seqs).size !== seqs.length) throw new InvalidArgumentError('a decode batch must not name the same sequence twice');
    for (const s of seqs) if (s.length + 1 > s.capacity) throw new InvalidArgumentError(`sequence is full (capacity ${s.capacity})`);
    const r = await this.native.forward({
      tokens: batch.map((b) => b.token),
      positions: seqs.map((s) => s.length),
      seq: seqs.map((_, i) => i),
      caches: seqs.map((s) => s.cache),
      outRows: seqs.map((_, i) => i),
      logits: true,
    });
    seqs.forEach((s, i) => s.tokens.push(batch[i].token));
    return r.logits!;
  }

  describe(): Record<string, string> {
    return { ...this.info };
  }

  async dispose(): Promise<void> {
    for (const s of this.sequences) s.dispose();
    this.sequences.clear();
    this.native.dispose();
  }
}

async function kernelsOrReason(): Promise<KernelsNativeModule | string> {
  const k = await loadKernels();
  if (typeof k === 'string') return k;
  if (!k.isAvailable()) return k.loadError()?.message ?? 'native addon not built';
  return k;
}

/**
 * The `cpu` backend: gpt-oss on the CPU through `@gptoss/kernels-native` (C++ AVX-512/AVX2/scalar kernels).
 * Weights stay in the checkpoint files, memory-mapped; activations and the KV cache are fp32.
 */
export function cpuBackend(): Backend {
  return {
    name: 'cpu',
    async available(): Promise<Availability> {
      const k = await kernelsOrReason();
      if (typeof k === 'string') return { ok: false, reason: k };
      return { ok: true, detail: `${k.getIsa()} kernels, ${k.getThreads()} threads` };
    },
    async load(source: ModelSource, options?: LoadOptions): Promise<LoadedModel> {
      const k = await kernelsOrReason();
      if (typeof k === 'string') throw new BackendUnavailableError('cpu', k);
      const { config, weights } = source;
      const files: string[] = [];
      const fileIndex = new Map<string, number>();
      const tensors: Record<string, NativeTensorRef> = {};
      const total = weights.names.reduce((n, name) => n + weights.tensor(name).byteLength, 0);
      let loaded = 0;
      for (const name of weights.names) {
        options?.signal?.throwIfAborted();
        const t = weights.tensor(name);
        const dtype = t.dtype as 'BF16' | 'F32' | 'U8';
        if (t.parts.length === 1) {
          const p = t.parts[0];
          let f = fileIndex.get(p.file);
          if (f === undefined) {
            f = files.length;
            files.push(p.file);
            fileIndex.set(p.file, f);
          }
          tensors[name] = { file: f, offset: p.fileOffset, bytes: p.byteLength, dtype };
        } else {
          // Split tensors (Hugging Face q/k/v) are joined once into native-owned memory, outside the JS heap.
          tensors[name] = { data: await t.read(), dtype };
        }
        loaded += t.byteLength;
        options?.onProgress?.({ loadedBytes: loaded, totalBytes: total, tensor: name });
      }
      const dims = {
        numHiddenLayers: config.numHiddenLayers,
        numExperts: config.numExperts,
        expertsPerToken: config.expertsPerToken,
        vocabSize: config.vocabSize,
        hiddenSize: config.hiddenSize,
        intermediateSize: config.intermediateSize,
        headDim: config.headDim,
        numAttentionHeads: config.numAttentionHeads,
        numKeyValueHeads: config.numKeyValueHeads,
        slidingWindow: config.slidingWindow,
        swigluLimit: config.swigluLimit,
        swigluAlpha: SWIGLU_ALPHA,
        rmsNormEps: RMS_NORM_EPS,
        ropeTheta: config.ropeTheta,
        ropeScalingFactor: config.ropeScalingFactor,
        ropeNtkAlpha: config.ropeNtkAlpha,
        ropeNtkBeta: config.ropeNtkBeta,
        initialContextLength: config.initialContextLength,
      };
      const native = new k.CpuModel(dims, files, tensors);
      // Fault every weight page in now (reading from disk if needed), so decode steps never stall on page faults.
      await native.populate();
      const maxContext = Math.min(options?.maxContext ?? Math.min(maxContextLength(config), 8192), maxContextLength(config));
      return new CpuLoadedModel(config, maxContext, native, {
        backend: 'cpu',
        isa: k.getIsa(),
        threads: String(k.getThreads()),
        weights: `mmap (${files.length} file${files.length === 1 ? '' : 's'})`,
        activations: describeActivations(k),
        kvCache: 'fp32',
      });
    },
  };
}

// What the kernels' precision switches currently do to the activations (both off by default: fp32 throughout).
function describeActivations(k: KernelsNativeModule): string {
  const notes: string[] = [];
  if (k.getPrefillPrecision?.() === 'bf16') notes.push('bf16 in prefill GEMMs');
  if (k.getDecodePrecision?.() === 'int8') notes.push('int8 in MXFP4 expert GEMVs');
  return notes.length ? `fp32 (${notes.join('; ')})` : 'fp32';
}
