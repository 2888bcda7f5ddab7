/**
 * The exact shape of the compiled addon (`build/Release/gptoss_kernels.node`). Arguments are positional and
 * unchecked beyond buffer bounds; use the typed wrappers in `kernels.ts` instead of calling these directly.
 *
 * Conventions: activations are fp32 (`Float32Array`), row-major. Weight buffers may be any typed array or
 * ArrayBuffer (bf16 bytes, MXFP4 blocks/scales as stored in the checkpoint); alignment is not required.
 * Every kernel exists as `name(...)` (runs on a worker thread, returns a Promise) and `nameSync(...)`.
 * Enumerations: dtype 0 = BF16, 1 = F32; weight format 0 = bf16, 1 = MXFP4, 2 = f32; epilogue 0 = store,
 * 1 = SwiGLU over interleaved (gate, linear) row pairs.
 * @internal
 */
export type Buf = ArrayBufferView | ArrayBuffer;

type Async<A extends unknown[]> = (...args: A) => Promise<void>;
type Sync<A extends unknown[]> = (...args: A) => void;

export type MatmulArgs = [
  x: Float32Array,
  t: number,
  weightFormat: number,
  weight: Buf,
  scales: Buf | null,
  rows: number,
  k: number,
  bias: Buf | null,
  biasDtype: number,
  out: Float32Array,
  epilogue: number,
  limit: number,
  alpha: number,
];
export type RmsnormArgs = [x: Float32Array, t: number, n: number, scale: Buf, scaleDtype: number, eps: number, out: Float32Array];
export type RopeArgs = [
  x: Float32Array,
  t: number,
  ld: number,
  nHeads: number,
  positions: Int32Array,
  headDim: number,
  theta: number,
  factor: number,
  ntkAlpha: number,
  ntkBeta: number,
  initialContext: number,
];
export type AttentionArgs = [
  q: Float32Array,
  ldq: number,
  k: Float32Array,
  v: Float32Array,
  positions: Int32Array,
  t: number,
  nHeads: number,
  nKv: number,
  headDim: number,
  window: number,
  sinks: Buf,
  sinksDtype: number,
  smScale: number,
  out: Float32Array,
  ldo: number,
];
export type RouterArgs = [logits: Float32Array, t: number, nExperts: number, k: number, ids: Int32Array, weights: Float32Array];
export type MoeArgs = [
  x: Float32Array,
  t: number,
  hidden: number,
  inter: number,
  ids: Int32Array,
  weights: Float32Array,
  topK: number,
  nExperts: number,
  w1Blocks: Buf,
  w1Scales: Buf,
  b1: Buf | null,
  b1Dtype: number,
  w2Blocks: Buf,
  w2Scales: Buf,
  b2: Buf | null,
  b2Dtype: number,
  limit: number,
  alpha: number,
  out: Float32Array,
];
export type UnembedArgs = [
  x: Float32Array,
  t: number,
  dim: number,
  weight: Buf,
  rows: number,
  k: number,
  logits: Float32Array | null,
  topIds: Int32Array | null,
  topVals: Float32Array | null,
];
export type EmbedArgs = [table: Buf, dim: number, ids: Int32Array, t: number, out: Float32Array];

/** Where a tensor's bytes are: a range of one of the mapped files, or memory the caller keeps alive. */
export type NativeTensorRef =
  | { file: number; offset: number; bytes: number; dtype: 'BF16' | 'F32' | 'U8' }
  | { data: ArrayBufferView; dtype: 'BF16' | 'F32' | 'U8' };

/** Model dimensions as the native forward pass reads them (a superset-compatible view of the runtime's config). */
export interface NativeModelDims {
  numHiddenLayers: number;
  numExperts: number;
  expertsPerToken: number;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  headDim: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  slidingWindow: number;
  swigluLimit: number;
  swigluAlpha: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScalingFactor: number;
  ropeNtkAlpha: number;
  ropeNtkBeta: number;
  initialContextLength: number;
}

export type ForwardArgs = [
  tokens: Int32Array,
  positions: Int32Array,
  seq: Int32Array,
  caches: NativeKvCache[],
  outRows: Int32Array,
  logits: Float32Array | null,
  topK: number,
  topIds: Int32Array | null,
  topVals: Float32Array | null,
];

export interface NativeModel {
  forward(...args: ForwardArgs): Promise<void>;
  forwardSync(...args: ForwardArgs): void;
  /** madvise(WILLNEED) on every mapped file. */
  prefetch(): void;
  /** Faults every mapped page in (reads from disk where needed) on a worker thread. */
  populate(): Promise<void>;
  mappedBytes(): number;
  dispose(): void;
}

export interface NativeKvCache {
  dispose(): void;
  allocatedBytes(): number;
}

/** The forward pass's ops as the native op profile names them (native/op-profile.h). */
export type OpName =
  | 'embed'
  | 'rmsnorm'
  | 'qkv'
  | 'rope'
  | 'attention'
  | 'out'
  | 'router'
  | 'moe'
  | 'mlp1'
  | 'mlp2'
  | 'unembed'
  | 'other';

/** Activation precision of the many-token GEMMs (prefill): see `setPrefillPrecision`. */
export type PrefillPrecision = 'fp32' | 'bf16' | 'int8';

export interface NativeAddon {
  isa(): 'scalar' | 'avx2' | 'avx512';
  setIsa(name: string): void;
  supportedIsas(): string[];
  cpuFeatures(): string;
  prefillPrecision(): PrefillPrecision;
  setPrefillPrecision(p: PrefillPrecision): void;
  prefillInt16(): boolean;
  setPrefillInt16(on: boolean): void;
  decodePrecision(): 'fp32' | 'int8';
  setDecodePrecision(p: 'fp32' | 'int8'): void;
  decodeInt16(): boolean;
  setDecodeInt16(on: boolean): void;
  opProfile(reset?: boolean): Record<OpName, number>;
  setOpProfiling(on: boolean): void;
  threads(): number;
  setThreads(n: number): void;
  matmul: Async<MatmulArgs>;
  matmulSync: Sync<MatmulArgs>;
  rmsnorm: Async<RmsnormArgs>;
  rmsnormSync: Sync<RmsnormArgs>;
  rope: Async<RopeArgs>;
  ropeSync: Sync<RopeArgs>;
  attention: Async<AttentionArgs>;
  attentionSync: Sync<AttentionArgs>;
  routerTopk: Async<RouterArgs>;
  routerTopkSync: Sync<RouterArgs>;
  moe: Async<MoeArgs>;
  moeSync: Sync<MoeArgs>;
  unembedTopk: Async<UnembedArgs>;
  unembedTopkSync: Sync<UnembedArgs>;
  embed: Async<EmbedArgs>;
  embedSync: Sync<EmbedArgs>;
  NativeModel: new (
    dims: NativeModelDims,
    files: string[],
    tensors: Record<string, NativeTensorRef>,
    weights?: 'mmap' | 'read',
  ) => NativeModel;
  KvCache: new (model: NativeModel, capacity: number) => NativeKvCache;
}
