import type * as KernelsWebGpuModule from '@gptoss/kernels-webgpu';
import type { GptOssGpu, GpuContext, GpuSequence, TensorSource } from '@gptoss/kernels-webgpu';
import { maxContextLength, type ModelConfig } from '../../config.js';
import { BackendUnavailableError, InvalidArgumentError } from '../../errors.js';
import type {
  Availability,
  Backend,
  DecodeItem,
  DeviceGenerateOptions,
  DeviceToken,
  LoadOptions,
  LoadedModel,
  ModelSource,
  PrefillOptions,
  Sequence,
} from '../../backend/types.js';

type KernelsWebGpu = typeof KernelsWebGpuModule;

const SPECIFIER = '@gptoss/kernels-webgpu';
let loading: Promise<KernelsWebGpu | string> | undefined;

/** Imports the kernels package once (an optional dependency); resolves to the module or why it cannot be used. */
function loadKernels(): Promise<KernelsWebGpu | string> {
  loading ??= (async () => {
    try {
      // A variable keeps bundlers from resolving it at build time; GPTOSS_KERNELS_WEBGPU_MODULE points elsewhere.
      const spec: string = process.env.GPTOSS_KERNELS_WEBGPU_MODULE || SPECIFIER;
      return (await import(/* @vite-ignore */ spec)) as KernelsWebGpu;
    } catch (e) {
      return `${SPECIFIER} is not installed (${(e as Error).message.split('\n')[0]}); add it next to @gptoss/runtime`;
    }
  })();
  return loading;
}

class WebGpuSequence implements Sequence {
  disposed = false;
  constructor(readonly inner: GpuSequence) {}
  get length(): number {
    return this.inner.length;
  }
  get capacity(): number {
    return this.inner.capacity;
  }
  get tokens(): readonly number[] {
    return this.inner.tokens;
  }
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.inner.length) {
      throw new InvalidArgumentError(`truncate(${length}): expected an integer in [0, ${this.inner.length}]`);
    }
    this.inner.truncate(length);
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inner.dispose();
  }
}

class WebGpuLoadedModel implements LoadedModel {
  readonly backend = 'webgpu' as const;
  private readonly sequences = new Set<WebGpuSequence>();
  constructor(
    readonly config: ModelConfig,
    readonly maxContext: number,
    private readonly model: GptOssGpu,
    private readonly ctx: GpuContext,
  ) {}

  createSequence(options?: { capacity?: number }): Sequence {
    const capacity = Math.min(options?.capacity ?? this.maxContext, this.maxContext);
    const s = new WebGpuSequence(this.model.createSequence(capacity));
    this.sequences.add(s);
    return s;
  }

  private own(s: Sequence): WebGpuSequence {
    if (!(s instanceof WebGpuSequence) || !this.sequences.has(s) || s.disposed) {
      throw new InvalidArgumentError('this sequence was not created by this model (or was disposed)');
    }
    return s;
  }

  async prefill(sequence: Sequence, tokens: ArrayLike<number>, options?: PrefillOptions): Promise<Float32Array> {
    const s = this.own(sequence);
    if (tokens.length === 0) throw new InvalidArgumentError('prefill needs at least one token');
    if (s.length + tokens.length > s.capacity) {
      throw new InvalidArgumentError(`sequence would hold ${s.length + tokens.length} positions, capacity is ${s.capacity}`);
    }
    return this.model.prefill(s.inner, tokens, { logits: options?.logits ?? 'last' });
  }

  async generate(sequence: Sequence, first: number, o: DeviceGenerateOptions): Promise<DeviceToken[]> {
    const out: DeviceToken[] = [];
    for await (const t of this.tokens(sequence, first, o)) out.push(t);
    return out;
  }

  generateStream(sequence: Sequence, first: number, o: DeviceGenerateOptions): AsyncGenerator<DeviceToken> {
    return this.tokens(sequence, first, o);
  }

  private async *tokens(sequence: Sequence, first: number, o: DeviceGenerateOptions): AsyncGenerator<DeviceToken> {
    const s = this.own(sequence);
    if (s.length >= s.capacity) throw new InvalidArgumentError(`sequence is full (${s.capacity} positions)`);
    const sampling = { temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed >>> 0 };
    for await (const t of this.model.generateTokens(s.inner, first, o.maxTokens, sampling, { stop: o.stop })) {
      yield { token: t.id, logprob: t.logprob };
    }
  }

  async decode(batch: readonly DecodeItem[]): Promise<Float32Array> {
    const items = batch.map((b) => {
      const s = this.own(b.sequence);
      if (s.length >= s.capacity) throw new InvalidArgumentError(`sequence is full (${s.capacity} positions)`);
      return { sequence: s.inner, token: b.token };
    });
    // The kernels batch up to their activation rows at once; larger batches go in slices.
    const V = this.config.vocabSize;
    const out = new Float32Array(items.length * V);
    const step = Math.max(1, this.model.maxBatch);
    for (let i = 0; i < items.length; i += step) {
      out.set(await this.model.decode(items.slice(i, i + step)), i * V);
    }
    return out;
  }

  describe(): Record<string, string> {
    return {
      adapter: this.ctx.caps.description,
      activations: this.ctx.caps.f16 ? 'f32 (MXFP4 experts multiplied in f16 pairs)' : 'f32',
      weights: 'bf16 + MXFP4 on the GPU',
      'dispatches/step': String(this.model.lastDispatches),
    };
  }

  async dispose(): Promise<void> {
    for (const s of this.sequences) s.dispose();
    this.sequences.clear();
    this.model.dispose();
  }
}

export interface WebGpuBackendOptions {
  /**
   * Accept CPU rasterisers (SwiftShader) as a GPU. Off by default: on such an adapter the native `cpu` backend is far
   * faster, so automatic selection should move on. Also enabled by GPTOSS_WEBGPU_ALLOW_CPU=1.
   */
  allowCpuAdapter?: boolean;
  /** Use only the portable f32 path even where subgroups exist. */
  portable?: boolean;
  /**
   * Decode and multiply MXFP4 expert weights in f16 pairs where the adapter has shader-f16 (about 3x faster expert
   * kernels; activations rounded to f16 there, so the f16 tolerance 2e-2 applies instead of 1e-3). Default true; also
   * turned off by GPTOSS_WEBGPU_F16=0.
   */
  f16?: boolean;
  /**
   * Keep Dawn's per-command WebGPU validation. Off by default: the kernels and their bindings are fixed and tested with
   * validation on, and skipping it cuts the host time of a decode step by about a third (see @gptoss/kernels-webgpu's
   * `validation` option). GPTOSS_WEBGPU_VALIDATE=1 turns it back on, e.g. to debug a driver issue.
   */
  validation?: boolean;
}

/**
 * The `webgpu` backend: gpt-oss on any WebGPU adapter through @gptoss/kernels-webgpu (Dawn in Node). Weights stay in
 * their stored formats on the GPU (bf16, MXFP4), activations and KV cache are f32 (tolerance 1e-3).
 */
export function webgpuBackend(options: WebGpuBackendOptions = {}): Backend {
  let ctxPromise: Promise<GpuContext | string> | undefined;
  const context = (): Promise<GpuContext | string> => {
    ctxPromise ??= (async () => {
      const k = await loadKernels();
      if (typeof k === 'string') return k;
      try {
        const ctx = await k.createNodeGpuContext({
          fast: !options.portable,
          f16: options.f16 ?? process.env.GPTOSS_WEBGPU_F16 !== '0',
          validation: options.validation ?? process.env.GPTOSS_WEBGPU_VALIDATE === '1',
        });
        const allowCpu = options.allowCpuAdapter ?? process.env.GPTOSS_WEBGPU_ALLOW_CPU === '1';
        if (ctx.caps.cpuLike && !allowCpu) {
          ctx.destroy();
          return `only a CPU rasteriser is available (${ctx.caps.description}); the cpu backend is faster there (GPTOSS_WEBGPU_ALLOW_CPU=1 to use it anyway)`;
        }
        return ctx;
      } catch (e) {
        return (e as Error).message.split('\n')[0];
      }
    })();
    return ctxPromise;
  };
  return {
    name: 'webgpu',
    async available(): Promise<Availability> {
      const c = await context();
      return typeof c === 'string' ? { ok: false, reason: c } : { ok: true, detail: c.caps.description };
    },
    async load(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
      const k = await loadKernels();
      const ctx = await context();
      if (typeof k === 'string') throw new BackendUnavailableError('webgpu', k);
      if (typeof ctx === 'string') throw new BackendUnavailableError('webgpu', ctx);
      opts.signal?.throwIfAborted();
      const { config, weights } = source;
      const maxContext = Math.min(opts.maxContext ?? 8192, maxContextLength(config));
      let totalBytes = 0;
      for (const n of weights.names) totalBytes += weights.tensor(n).byteLength;
      const src: TensorSource = {
        dtype: (name) => weights.tensor(name).dtype,
        read: async (name) => {
          opts.signal?.throwIfAborted();
          return weights.tensor(name).read();
        },
        readRange: (name, start, end) => weights.tensor(name).readRange(start, end),
      };
      const model = await k.GptOssGpu.load(ctx, config, src, {
        maxContext,
        maxBatch: Math.max(1, opts.maxBatch ?? 8),
        onProgress: (loadedBytes, tensor) => opts.onProgress?.({ loadedBytes, totalBytes, tensor }),
      });
      return new WebGpuLoadedModel(config, maxContext, model, ctx);
    },
  };
}
