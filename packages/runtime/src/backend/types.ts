/**
 * The backend contract: what a compute backend (`reference`, `cpu`, `webgpu`) implements so that the runtime can
 * load a gpt-oss checkpoint onto it and run the model. Callers never see backends directly; they go through
 * `loadModel` / `generate`, which pick a backend, validate inputs and serialise calls.
 *
 * Lifecycle:
 *
 * ```ts
 * const backend: Backend = cpuBackend();               // cheap: no work, no allocation
 * const a = await backend.available();                 // { ok: true } or { ok: false, reason: 'no GPU adapter' }
 * const model = await backend.load({ config, weights }); // config already validated, every tensor's dtype/shape checked
 * const seq = model.createSequence();
 * const logits = await model.prefill(seq, promptTokens, { logits: 'last' });   // Float32Array [vocab]
 * const step = await model.decode([{ sequence: seq, token: next }]);          // Float32Array [1, vocab]
 * seq.truncate(10);                                     // keep the first 10 cached positions (prefix reuse)
 * seq.dispose(); await model.dispose();
 * ```
 *
 * Numerics: the function to compute is the seed's `gpt_oss/torch/model.py` (SPEC §1) with weights upcast to fp32.
 * A backend that computes in fp32 must match it to a relative L2 error of 1e-3 per position; one that keeps
 * activations in bf16/f16 to 2e-2. `@gptoss/runtime/internal` exports `conformanceCases()` which checks this plus
 * decode-equals-prefill and batched-equals-single against committed fixtures; every backend runs it in its tests.
 *
 * Where backends live: `src/backends/cpu/index.ts` exports `cpuBackend(): Backend` and `src/backends/webgpu/index.ts`
 * exports `webgpuBackend(): Backend`. The runtime imports them lazily (`select-backend.ts`), and tsup builds them as
 * separate entries when present, so importing the module must not fail when the addon or GPU is missing: report that
 * from `available()` instead (e.g. `{ ok: false, reason: 'native addon not built: run pnpm --filter
 * @gptoss/kernels-native build' }`). Import types from `../../backend/types.js`; run the conformance suite with
 * `conformanceCases` from `../../backend/conformance.js` (or `@gptoss/runtime/internal`).
 *
 * Rules every backend follows:
 * - Positions are absolute: a sequence's next token sits at position `sequence.length` (RoPE uses it; sliding-window
 *   layers, the even ones, see the last `slidingWindow` positions including the current one).
 * - The runtime checks token ids (0 ≤ id < vocabSize) and capacities before calling; backends may trust them.
 * - The runtime never issues two calls on the same LoadedModel concurrently (it awaits each one), so a backend
 *   needs no locking. Sequences belong to the LoadedModel that created them.
 * - Returned logits arrays are owned by the caller (a backend must not reuse or mutate them afterwards).
 * - Errors are thrown as `GptossError` subclasses with a message that says what to do.
 *
 * @module
 */
import type { CheckpointLayout, ModelConfig } from '../config.js';
import type { WeightDType } from '../checkpoint/tensor-specs.js';

export type { ModelConfig, CheckpointLayout, WeightDType };

/** Names of the backends the runtime knows, fastest first. */
export type BackendName = 'webgpu' | 'cpu' | 'reference';

export type Availability = { ok: true; detail?: string } | { ok: false; reason: string };

/**
 * A stored tensor inside a safetensors file: enough to mmap it, `pread` it or upload it without going through the
 * JS heap. Structurally compatible with `TensorInfo` from `@gptoss/mxfp4`.
 */
export interface StoredTensorRef {
  /** The name in the file (layout-specific, e.g. `model.layers.3.self_attn.q_proj.weight`). */
  name: string;
  dtype: string;
  shape: readonly number[];
  /** Absolute path of the .safetensors file. */
  file: string;
  /** Absolute byte offset of the tensor's first byte in `file`. */
  fileOffset: number;
  byteLength: number;
}

/**
 * One logical weight tensor, always named and shaped as in the original/ layout (SPEC §2.1), whatever the layout on
 * disk. Its bytes are the concatenation of `parts` in order (one part, except for `block.N.attn.qkv.*` in the Hugging
 * Face layout, which is stored as q_proj, k_proj, v_proj: dimension-0 concatenation of row-major data).
 *
 * dtypes: `BF16` for dense weights and biases, `U8` for MXFP4 `.blocks` (`[..., G, 16]`, low nibble first) and
 * `.scales` (`[..., G]`, E8M0, bias 127); norm scales and sinks are `BF16` or `F32`.
 */
export interface WeightTensor {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  readonly parts: readonly StoredTensorRef[];
  /** The whole tensor (≤ 2 GiB; larger ones: readInto in chunks). Buffers are 8-byte aligned. */
  read(): Promise<Uint8Array>;
  /** Bytes `[start, end)` of the logical tensor. */
  readRange(start: number, end: number): Promise<Uint8Array>;
  /** Fills `dst` with the tensor's bytes starting at `tensorByteOffset`. */
  readInto(dst: Uint8Array, tensorByteOffset?: number): Promise<void>;
}

/** The weights of an opened checkpoint, by original-layout name. All were checked against the config. */
export interface WeightSource {
  readonly path: string;
  readonly layout: CheckpointLayout;
  /** Every logical tensor name, in the canonical order of `tensorSpecs(config)`. */
  readonly names: readonly string[];
  has(name: string): boolean;
  /** Throws CheckpointFormatError for an unknown name. */
  tensor(name: string): WeightTensor;
  close(): Promise<void>;
}

/** What a backend loads: a validated config and the weights it describes. */
export interface ModelSource {
  readonly config: ModelConfig;
  readonly weights: WeightSource;
}

export interface LoadProgress {
  loadedBytes: number;
  totalBytes: number;
  /** The tensor being loaded, when known. */
  tensor?: string;
}

export interface LoadOptions {
  /**
   * Largest number of positions one sequence will hold (prompt + generated). Backends size KV caches from it.
   * Default: min(config max context, 8192).
   */
  maxContext?: number;
  /** Largest decode batch the caller will send. Default 1; larger batches may still work but can be slower. */
  maxBatch?: number;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** Which logits a prefill returns. */
export type LogitsMode = 'all' | 'last' | 'none';

export interface PrefillOptions {
  /**
   * `'all'`: Float32Array `[tokens.length, vocab]` row-major; `'last'` (default): `[vocab]` for the last token;
   * `'none'`: an empty array (only fills the cache).
   */
  logits?: LogitsMode;
}

/**
 * The KV cache and token history of one sequence. `length` positions are cached; the next token goes at position
 * `length`.
 */
export interface Sequence {
  readonly length: number;
  /** Largest `length` this sequence can reach. */
  readonly capacity: number;
  /** Token ids whose K/V are cached, in order (`tokens.length === length`). */
  readonly tokens: readonly number[];
  /**
   * Drops cached positions from `length` on (0 ≤ length ≤ this.length), so that a prompt sharing a prefix with the
   * previous one only prefills its new tail. Backends must support truncating to any earlier length, also on
   * sliding-window layers.
   */
  truncate(length: number): void;
  /** Frees the cache. The sequence cannot be used afterwards. */
  dispose(): void;
}

export interface DecodeItem {
  sequence: Sequence;
  /** The token to append at position `sequence.length`. */
  token: number;
}

/** Sampling done by a backend (`LoadedModel.generate`): the subset of SamplingOptions that devices implement. */
export interface DeviceGenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  seed: number;
  stop: (token: number) => boolean;
}

export interface DeviceToken {
  token: number;
  logprob: number;
}

/** A model loaded onto one backend. */
export interface LoadedModel {
  readonly backend: BackendName;
  readonly config: ModelConfig;
  readonly maxContext: number;
  createSequence(options?: { capacity?: number }): Sequence;
  /**
   * Appends `tokens` (≥ 1) to `sequence` (which may already hold a prefix) and returns logits as chosen by
   * `options.logits`. Equivalent to running decode on each token in turn, but done in one pass.
   */
  prefill(sequence: Sequence, tokens: ArrayLike<number>, options?: PrefillOptions): Promise<Float32Array>;
  /**
   * One decode step for several sequences at once (distinct sequences, any lengths): appends each item's token and
   * returns Float32Array `[batch.length, vocab]`, row `i` for `batch[i]`. Must equal decoding each one alone.
   */
  decode(batch: readonly DecodeItem[]): Promise<Float32Array>;
  /**
   * Optional fast path for one sequence: appends `first`, then samples on the device and appends each sampled token
   * in turn, returning up to `maxTokens` tokens with their log-probabilities (log-softmax of the raw logits). It stops
   * after the first token for which `stop` is true; the last returned token is not appended (as with `decode`, the
   * caller feeds it next). Only logits never leave the device: a GPU backend reads back a few bytes per token and
   * keeps several steps in flight. Sampling draws come from the backend's own seeded generator.
   */
  generate?(sequence: Sequence, first: number, options: DeviceGenerateOptions): Promise<DeviceToken[]>;
  /**
   * `generate` as a stream: each token as soon as the device has it, from one device loop (no restart, so no drained
   * pipeline, between tokens). When the consumer stops early, the tokens after the last one it took are not appended
   * (the sequence then holds every token before that one, as after `generate`).
   */
  generateStream?(sequence: Sequence, first: number, options: DeviceGenerateOptions): AsyncIterable<DeviceToken>;
  /** Human-readable facts for `--verbose` output and benchmarks (e.g. `{ threads: '2', weights: 'mmap' }`). */
  describe?(): Record<string, string>;
  /** Frees weights and every sequence. */
  dispose(): Promise<void>;
}

/** A backend: a cheap descriptor (constructing it does no work) that can check availability and load models. */
export interface Backend {
  readonly name: BackendName;
  /**
   * Whether this backend can run here, without side effects visible to the user (no prompts, no long compiles).
   * `reason` is shown to the user when the backend is skipped, e.g. "native addon not built (run pnpm build)".
   */
  available(): Promise<Availability>;
  load(source: ModelSource, options?: LoadOptions): Promise<LoadedModel>;
}
