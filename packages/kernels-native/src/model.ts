import { readFileSync, readdirSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeKvCache, NativeModel, NativeModelDims, NativeTensorRef } from './binding.js';
import { KernelArgumentError } from './errors.js';
import { addon } from './loader.js';

export type { NativeModelDims, NativeTensorRef };

/** A sequence's KV cache (fp32, grown on demand up to `capacity` positions). */
export interface KvCacheHandle {
  readonly capacity: number;
  allocatedBytes(): number;
  dispose(): void;
}

export interface ForwardParams {
  /** Token ids of the batch; tokens of one sequence must be contiguous and in position order. */
  tokens: ArrayLike<number>;
  positions: ArrayLike<number>;
  /** Index into `caches` of each token's sequence. */
  seq: ArrayLike<number>;
  caches: KvCacheHandle[];
  /** Batch rows whose outputs are wanted (e.g. the last row of each sequence). */
  outRows: ArrayLike<number>;
  /** Return full logits `[outRows, vocab]`. */
  logits?: boolean;
  /** Return the k best ids/values per out row (fused into the unembedding; no logits row is materialised). */
  topK?: number;
}

export interface ForwardResult {
  logits?: Float32Array;
  topIds?: Int32Array;
  topValues?: Float32Array;
}

const native = new WeakMap<KvCacheHandle, NativeKvCache>();

export interface CpuModelOptions {
  /**
   * `'mmap'` (default): weights are used in place from the page cache (shared, evictable, instant open).
   * `'read'`: `populate()` reads the files once into private memory on 2 MiB pages (the page-cache copy is dropped
   * as it goes), which streams faster; `forward()` refuses to run before that read.
   */
  weights?: 'mmap' | 'read';
}

/**
 * The gpt-oss forward pass in C++ over weights read in place (memory-mapped safetensors). One call runs every layer
 * for a batch of tokens from one or more sequences: prefill (many tokens, one sequence), decode and batched decode.
 * @example
 * const m = CpuModel.openOriginalCheckpoint('/models/gpt-oss-20b/original');
 * const cache = m.createCache(4096);
 * const r = await m.forward({ tokens: [1, 2, 3], positions: [0, 1, 2], seq: [0, 0, 0], caches: [cache], outRows: [2], topK: 1 });
 */
export class CpuModel {
  readonly dims: NativeModelDims;
  private readonly model: NativeModel;

  constructor(dims: NativeModelDims, files: string[], tensors: Record<string, NativeTensorRef>, options?: CpuModelOptions) {
    this.dims = dims;
    this.model = new (addon().NativeModel)(dims, files, tensors, options?.weights ?? 'mmap');
  }

  /** Opens an original/-layout directory (config.json + *.safetensors) without reading tensor data. */
  static openOriginalCheckpoint(dir: string, options?: CpuModelOptions): CpuModel {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
    const dims: NativeModelDims = {
      numHiddenLayers: cfg.num_hidden_layers,
      numExperts: cfg.num_experts,
      expertsPerToken: cfg.experts_per_token ?? 4,
      vocabSize: cfg.vocab_size,
      hiddenSize: cfg.hidden_size,
      intermediateSize: cfg.intermediate_size,
      headDim: cfg.head_dim ?? 64,
      numAttentionHeads: cfg.num_attention_heads,
      numKeyValueHeads: cfg.num_key_value_heads,
      slidingWindow: cfg.sliding_window ?? 128,
      swigluLimit: cfg.swiglu_limit ?? 7,
      swigluAlpha: 1.702,
      rmsNormEps: 1e-5,
      ropeTheta: cfg.rope_theta ?? 150000,
      ropeScalingFactor: cfg.rope_scaling_factor ?? 32,
      ropeNtkAlpha: cfg.rope_ntk_alpha ?? 1,
      ropeNtkBeta: cfg.rope_ntk_beta ?? 32,
      initialContextLength: cfg.initial_context_length ?? 4096,
    };
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors'))
      .sort()
      .map((f) => join(dir, f));
    const tensors: Record<string, NativeTensorRef> = {};
    files.forEach((file, i) => {
      for (const t of readSafetensorsHeader(file)) {
        tensors[t.name] = { file: i, offset: t.fileOffset, bytes: t.byteLength, dtype: t.dtype as 'BF16' | 'F32' | 'U8' };
      }
    });
    return new CpuModel(dims, files, tensors, options);
  }

  createCache(capacity: number): KvCacheHandle {
    const c = new (addon().KvCache)(this.model, capacity);
    const h: KvCacheHandle = { capacity, allocatedBytes: () => c.allocatedBytes(), dispose: () => c.dispose() };
    native.set(h, c);
    return h;
  }

  async forward(p: ForwardParams): Promise<ForwardResult> {
    const args = this.args(p);
    await this.model.forward(...args.call);
    return args.result;
  }

  forwardSync(p: ForwardParams): ForwardResult {
    const args = this.args(p);
    this.model.forwardSync(...args.call);
    return args.result;
  }

  /** Hints the kernel to read every mapped file ahead (load time), best effort. */
  prefetch(): void {
    this.model.prefetch();
  }

  /**
   * Maps every weight page in now (reading the files from disk if they are not in the page cache), so that decode
   * steps take no page faults. Without it the first steps are slower while the experts they route to fault in.
   */
  populate(): Promise<void> {
    return this.model.populate();
  }

  mappedBytes(): number {
    return this.model.mappedBytes();
  }

  dispose(): void {
    this.model.dispose();
  }

  private args(p: ForwardParams) {
    const n = p.tokens.length;
    if (n < 1 || p.positions.length !== n || p.seq.length !== n) {
      throw new KernelArgumentError(`forward: tokens, positions and seq must have one entry per token (got ${n}, ${p.positions.length}, ${p.seq.length})`);
    }
    const caches = p.caches.map((c) => {
      const nc = native.get(c);
      if (!nc) throw new KernelArgumentError('forward: caches must come from this CpuModel.createCache');
      return nc;
    });
    const rows = Int32Array.from(p.outRows);
    const k = p.topK ?? 0;
    const result: ForwardResult = {};
    if (p.logits) result.logits = new Float32Array(rows.length * this.dims.vocabSize);
    if (k > 0) {
      result.topIds = new Int32Array(rows.length * k);
      result.topValues = new Float32Array(rows.length * k);
    }
    const call = [
      Int32Array.from(p.tokens),
      Int32Array.from(p.positions),
      Int32Array.from(p.seq),
      caches,
      rows,
      result.logits ?? null,
      k,
      result.topIds ?? null,
      result.topValues ?? null,
    ] as const;
    return { call: [...call] as Parameters<NativeModel['forward']>, result };
  }
}

/** Reads a safetensors header: name, dtype, absolute file offset and length of every tensor. @internal */
export function readSafetensorsHeader(file: string): { name: string; dtype: string; fileOffset: number; byteLength: number }[] {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const len = Number(head.readBigUInt64LE(0));
    if (len <= 0 || len > 100_000_000 || len + 8 > statSync(file).size) {
      throw new KernelArgumentError(`${file}: not a safetensors file (header length ${len})`);
    }
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, 8);
    const json = JSON.parse(buf.toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const out = [];
    for (const [name, t] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      out.push({ name, dtype: t.dtype, fileOffset: 8 + len + t.data_offsets[0], byteLength: t.data_offsets[1] - t.data_offsets[0] });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
