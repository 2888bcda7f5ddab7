import { KernelShapeError } from '../errors.js';
import { type DispatchPlan, type GpuContext, type KernelProgram, type StepRecorder, Usage } from '../gpu.js';
import {
  attention,
  attentionCombineProgram,
  attentionProgram,
  type AttentionShape,
  attentionSplits,
  ATTN_CHUNK,
  ropeKv,
  ropeKvProgram,
} from '../kernels/attention.js';
import { embed, embedProgram } from '../kernels/embed.js';
import { gemmBf16, gemmBf16Program } from '../kernels/gemm-bf16.js';
import { smatTileBytes, smatUsable } from '../kernels/smat.js';
import { gemvBf16, gemvBf16Program, type GemvBf16Options, type WeightPart } from '../kernels/gemv-bf16.js';

import { moeMlp1, moeMlp1Program, type MoeProgramOptions, type MoeShape } from '../kernels/moe-mlp1.js';
import { moeCombineProgram, moeGrouped, moeGroupedMlp1Program, moeGroupedMlp2Program } from '../kernels/moe-grouped.js';
import { moeMlp2, moeMlp2Program } from '../kernels/moe-mlp2.js';
import {
  FOLD_MAX_ROWS,
  routerFoldLayout,
  routerFoldPrecompute,
  routerFoldPrecomputeProgram,
  routerFoldWeightBytes,
  type RouterFoldWeights,
} from '../kernels/router-fold.js';
import type { MoeDecodeVariant } from '../wgsl.js';
import { rmsNorm, rmsNormProgram } from '../kernels/rmsnorm.js';
import {
  sample,
  sampleCandidatesFor,
  samplePartialsPrograms,
  samplePartsBytes,
  sampleProgram,
  type SampleParams,
  type SamplePartialsPrograms,
} from '../kernels/sample.js';
import { ReadbackPacer } from './readback-pacer.js';
import { yarnRopeTable } from './rope.js';

/** gpt-oss hyper-parameters (SPEC §1.1); structurally the runtime's ModelConfig. */
export interface GptOssConfig {
  numHiddenLayers: number;
  numExperts: number;
  expertsPerToken: number;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  swigluLimit: number;
  headDim: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  slidingWindow: number;
  initialContextLength: number;
  ropeTheta: number;
  ropeScalingFactor: number;
  ropeNtkAlpha: number;
  ropeNtkBeta: number;
}

/**
 * Where weights come from, by their original-layout names (SPEC §2.1: `block.N.attn.qkv.weight`, …). `dtype` is
 * `BF16`, `F32` (norm scales and sinks may be either) or `U8` (MXFP4 blocks/scales).
 */
export interface TensorSource {
  dtype(name: string): string;
  read(name: string): Promise<Uint8Array>;
  /** Optional: bytes [start, end) of a tensor, used for tensors split across bindings. */
  readRange?(name: string, start: number, end: number): Promise<Uint8Array>;
}

export interface LoadGptOssOptions {
  /** Positions per sequence (KV cache and RoPE table size). */
  maxContext: number;
  /** Largest decode batch. Default 1. */
  maxBatch?: number;
  /**
   * Tokens per prefill pass (activations are sized for it). Default 1024 on GPUs (512 where workgroup memory is
   * under 26.6 KB), 128 on CPU rasterisers.
   */
  prefillChunk?: number;
  onProgress?: (loadedBytes: number, tensor: string) => void;
  /** @internal Cap on tokens per prefill attention dispatch (normally sized from a 256 MiB partials buffer). */
  attentionTokens?: number;
  /**
   * Passes of at least this many tokens run the MoE grouped by expert (each expert's weights read once per pass)
   * on the GPU kernel shapes. Default: 16·E/k tokens, i.e. ~16 tokens per expert on average (gpt-oss-20b: 128, the
   * default prefill chunk; 120b: 512, so off with 128-token chunks): there the tiled grouped kernels measured 1.17×
   * faster than the per-token ones for a 2048-token 20b prefill on the H100 (bench/RESULTS.md, session 4).
   */
  groupedMoeMinTokens?: number;
  /**
   * Grouped MoE with the tiled kernels (each 64×32 weight tile decoded once into workgroup memory and shared by up to
   * 32 tokens). Default true; false selects the register-form grouped kernels (slower, kept for benchmarks).
   */
  groupedMoeTiled?: boolean;
  /**
   * @internal Passes of at least this many tokens run the dense bf16 projections (qkv, out, router, unembedding) as
   * tiled GEMMs (64 rows × 32 tokens per workgroup) instead of 8-token GEMVs, on the GPU kernel shapes only.
   * Default 16.
   */
  prefillGemmMinTokens?: number;
  /**
   * Element type of the K/V cache. Default 'f32'. 'f16' halves the cache's memory (twice the context in the same
   * space) and the bytes a decode step reads at long range, within the f16 path's 2e-2 tolerance, but the unpacking
   * costs prefill time (H100, 20b, same process: decode step at 16k 3.17 → 3.09 ms, at ctx 128 2.45 → 2.47 ms;
   * prefill 2048 4704 → 4452 tok/s; bench/RESULTS.md session 9). Needs the GPU kernel shapes.
   */
  kvCache?: 'f16' | 'f32';
  /**
   * Decode steps of up to 8 rows on the GPU kernel shapes fold the router into the QKV and out-projection GEMVs and
   * mlp1 (router-fold.ts): one dependent dispatch per layer less (the floor of a 20b step: 1.61 → 1.53 ms, bench/
   * RESULTS.md session 8), for ~0.9 MB of extra weights per layer (20b) made at load. Default false until measured
   * faster on a GPU (bench `--fold-ab`).
   */
  routerFold?: boolean;
}

/**
 * Prefill passes from 16 tokens run the dense projections as tiled GEMMs: 1.24× faster for a 2048-token 20b prefill
 * on the H100 (128-token chunks; bench/RESULTS.md, session 5). 16 is where one 32-token tile replaces two GEMV
 * dispatches; shorter passes (and decode) keep the GEMVs.
 */
/**
 * Sampling spreads its vocabulary passes over workgroups for batches of up to this many rows (a larger batch already
 * fills the GPU with one workgroup per row); the records take ~266 KB per row.
 */
const SPREAD_SAMPLE_ROWS = 8;
/** The per-token MoE kernels' decode on the f16 path (GptOssGpu.moeDecodes). */
const DEFAULT_DECODE: MoeDecodeVariant = { raw: true, chain: 2 };
const PREFILL_GEMM_MIN_TOKENS = 16;

interface Layer {
  attnNorm: GPUBuffer;
  qkv: WeightPart[];
  qkvBias: GPUBuffer;
  sinks: GPUBuffer;
  out: WeightPart[];
  outBias: GPUBuffer;
  mlpNorm: GPUBuffer;
  /**
   * Exponent k of the power of two the f16-pair MoE inputs are prescaled by (raw decode): |x/rms·gain| ≤ √H·max|gain|,
   * so 2^k times it stays ≤ 2^15, half of f16's range.
   */
  xnExp: number;
  gate: WeightPart[];
  gateBias: GPUBuffer;
  mlp1Blocks: GPUBuffer[];
  mlp1Scales: GPUBuffer;
  mlp1Bias: GPUBuffer;
  mlp2Blocks: GPUBuffer[];
  mlp2Scales: GPUBuffer;
  mlp2Bias: GPUBuffer;
  /** The router folded into the decode step's projections (router-fold.ts): GPU shapes, one-part weights. */
  fold?: RouterFoldWeights;
}

/** One sequence's KV cache (per layer `[2][capacity][NKV][D]`, f32 or f16 as the model's kvCache) and token history. */
export class GpuSequence {
  readonly tokens: number[] = [];
  constructor(
    readonly kv: GPUBuffer[],
    readonly capacity: number,
    private readonly owner: GptOssGpu,
  ) {}
  get length(): number {
    return this.tokens.length;
  }
  truncate(length: number): void {
    if (length < 0 || length > this.tokens.length) {
      throw new KernelShapeError(`truncate(${length}): expected 0..${this.tokens.length}`);
    }
    // Positions past `length` are simply overwritten later: attention never reads beyond the current position.
    this.tokens.length = length;
  }
  dispose(): void {
    for (const b of this.kv) b.destroy();
    this.kv.length = 0;
    this.owner.forget(this);
  }
}

/**
 * Exponent k (−14..14) of the power of two that brings values bounded by `bound` to at most 2^15 (half of f16's range),
 * for the MoE kernels' raw decode: products of a raw MXFP4 pair (value·2^-14) and an input prescaled by 2^k stay in
 * f16's normal range, and the power of two is undone exactly in f32.
 */
export function prescaleExp(bound: number): number {
  if (!(bound > 0) || !Number.isFinite(bound)) return bound > 0 ? -14 : 14;
  return Math.max(-14, Math.min(14, Math.floor(Math.log2(32768 / bound))));
}

/** prescaleExp of mlp1's output (mlp2's input): the clamped SwiGLU is bounded by limit·(limit + 1). */
export function actExp(limit: number): number {
  const L = Math.max(1, limit);
  return prescaleExp(L * (L + 1));
}

function bf16ToF32Array(u8: Uint8Array): Float32Array {
  const n = u8.byteLength / 2;
  const src = new Uint16Array(u8.buffer, u8.byteOffset, n);
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) u[i] = src[i] << 16;
  return out;
}

/** Options of `GptOssGpu.generate` / `generateTokens`. */
export interface GenerateOptions {
  /** Steps submitted ahead of the one being read back (default 3). */
  depth?: number;
  /** Called with each sampled id; true ends the generation after yielding it. */
  stop?: (id: number) => boolean;
}

/** A token sampled on the GPU, with its log-probability (NaN from `generate`, which does not compute it). */
export interface GeneratedToken {
  id: number;
  logprob: number;
}

/**
 * gpt-oss on WebGPU: weights uploaded once in their stored formats (bf16 dense, MXFP4 experts), f32 activations and
 * KV cache, one command buffer per step. Decode per layer: QKV GEMV (+RMSNorm, +bias) → attention (+RoPE, +KV
 * write, split over keys) → out GEMV (+bias, +residual) → router GEMV (+RMSNorm) → MXFP4 mlp1 (+top-k, +SwiGLU) →
 * MXFP4 mlp2 (+mix, +residual): 6 dispatches (7 when a sequence needs several attention splits).
 */
export class GptOssGpu {
  readonly config: GptOssConfig;
  readonly maxContext: number;
  readonly maxBatch: number;
  readonly prefillChunk: number;
  /** Dispatches recorded by the last decode/prefill call. */
  lastDispatches = 0;
  private readonly ctx: GpuContext;
  private readonly layers: Layer[];
  private readonly finalNorm: GPUBuffer;
  private readonly unembed: WeightPart[];
  private readonly embedding: WeightPart[];
  private readonly tokIn: GPUBuffer;
  private readonly rope: GPUBuffer;
  private readonly rows: number;
  private readonly x: GPUBuffer;
  private readonly xn: GPUBuffer;
  private readonly qkv: GPUBuffer;
  private readonly attn: GPUBuffer;
  private readonly router: GPUBuffer;
  private readonly act: GPUBuffer;
  private readonly expertOut: GPUBuffer;
  private readonly groupedOk: boolean;
  private groupedMinTokens: number;
  /** @internal Benchmarks: passes with at least this many tokens use the grouped MoE (Infinity: never). */
  setGroupedMoe(minTokens: number, tiled = this.groupedTiled): void {
    this.plans.clear();
    this.groupedMinTokens = this.groupedOk ? minTokens : Infinity;
    this.groupedTiled = tiled;
  }
  private groupedTiled: boolean;
  private gemmMinTokens: number;
  private smat: boolean;
  private readonly smatMoeOk: boolean;
  private smatDenseTM: number;
  private smatMoeTM: number;
  /** @internal Tokens per subgroup-matrix tile of the dense and the MoE GEMMs. */
  get smatTiles(): { dense: number; moe: number } {
    return { dense: this.smatDenseTM, moe: this.smatMoeTM };
  }
  /** @internal Benchmarks: tokens per subgroup-matrix tile (32, 64 or 128) for the dense and the MoE GEMMs. */
  setSubgroupMatrixTiles(dense: number, moe: number): void {
    this.plans.clear();
    this.smatDenseTM = dense;
    this.smatMoeTM = moe;
  }
  /**
   * @internal Benchmarks: run the prefill GEMMs (dense and grouped MoE) on subgroup matrices (tensor cores) when the
   * context has them (the default), or on the f32 tiled kernels.
   */
  setSubgroupMatrix(on: boolean): void {
    this.plans.clear();
    this.smat = on && smatUsable(this.ctx.caps) && !this.subgroupMatrixError;
  }
  /** Why the subgroup-matrix kernels were not used although the adapter has them (their probe failed), or null. */
  subgroupMatrixError: string | null = null;

  /** Compiles the subgroup-matrix programs once; on failure they are switched off and the reason kept. */
  private async probeSubgroupMatrix(): Promise<void> {
    if (!this.smat) return;
    const caps = this.ctx.caps;
    const H = this.config.hiddenSize;
    const progs = [
      () =>
        gemmBf16Program(caps, {
          K: H,
          norm: true,
          bias: true,
          writeNormed: true,
          subgroupMatrix: true,
          tileTokens: this.smatDenseTM,
        }),
    ];
    if (this.smatMoeOk && this.groupedOk) {
      const o = { tiled: true, subgroupMatrix: true, tileTokens: this.smatMoeTM };
      progs.push(
        () => moeGroupedMlp1Program(caps, this.moeShape, this.rows, o),
        () => moeGroupedMlp2Program(caps, this.moeShape, this.rows, o),
      );
    }
    const errors: string[] = [];
    const modes = caps.subgroupMatrixUniformity ? [caps.subgroupMatrixUniformity] : (['subgroup_id', 'broadcast'] as const);
    for (const mode of modes) {
      caps.subgroupMatrixUniformity = mode;
      let failed = false;
      for (const make of progs) {
        const prog = make();
        const err = await this.ctx.probeProgram(prog);
        if (err) {
          errors.push(`${mode}: ${prog.name}: ${err}`);
          failed = true;
          break;
        }
      }
      if (!failed) return;
    }
    caps.subgroupMatrixUniformity = undefined;
    this.smat = false;
    this.subgroupMatrixError = errors.join(' | ');
  }

  /** Whether prefill GEMMs use subgroup matrices (tensor cores). */
  get usesSubgroupMatrix(): boolean {
    return this.smat;
  }
  /** @internal Benchmarks: passes with at least this many tokens use the tiled bf16 GEMM (Infinity: never). */
  setPrefillGemm(minTokens: number): void {
    this.plans.clear();
    this.gemmMinTokens = this.ctx.caps.cpuLike ? Infinity : minTokens;
  }

  private readonly part: GPUBuffer;
  private readonly partTokens: number;
  private readonly logits: GPUBuffer;
  private readonly tokenOut: GPUBuffer;
  private readonly logitRows: number;
  private readonly samplePartials: SamplePartialsPrograms | null;
  private readonly sampleParts: GPUBuffer | null;
  /** @internal Benchmarks: spread the sampler's vocabulary passes over workgroups where the shapes allow (default on). */
  spreadSampling = true;
  private partialsArg(rows: number) {
    if (!this.spreadSampling || !this.samplePartials || !this.sampleParts || rows > SPREAD_SAMPLE_ROWS) return undefined;
    return { programs: this.samplePartials, parts: this.sampleParts };
  }
  private readonly sequences = new Set<GpuSequence>();
  private readonly attnShape: AttentionShape;
  private readonly moeShape: MoeShape;

  private constructor(
    ctx: GpuContext,
    config: GptOssConfig,
    o: Required<Omit<LoadGptOssOptions, 'onProgress' | 'attentionTokens' | 'routerFold'>> & { attentionTokens?: number; routerFold?: boolean },
    w: { layers: Layer[]; finalNorm: GPUBuffer; unembed: WeightPart[]; embedding: WeightPart[]; moe: MoeShape },
  ) {
    this.ctx = ctx;
    this.config = config;
    this.maxContext = o.maxContext;
    this.maxBatch = o.maxBatch;
    this.prefillChunk = o.prefillChunk;
    this.layers = w.layers;
    this.finalNorm = w.finalNorm;
    this.unembed = w.unembed;
    this.embedding = w.embedding;
    this.moeShape = w.moe;
    const c = config;
    this.attnShape = { NQ: c.numAttentionHeads, NKV: c.numKeyValueHeads, D: c.headDim };
    const H = c.hiddenSize;
    const R = Math.max(o.maxBatch, o.prefillChunk);
    this.rows = R;
    const QKVW = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim;
    this.rope = ctx.upload(yarnRopeTable(o.maxContext, c), 'rope');
    this.x = ctx.createBuffer(R * H * 4, 'x');
    this.xn = ctx.createBuffer(R * H * 4, 'xn');
    this.qkv = ctx.createBuffer(R * QKVW * 4, 'qkv');
    this.attn = ctx.createBuffer(R * c.numAttentionHeads * c.headDim * 4, 'attn');
    this.router = ctx.createBuffer(R * c.numExperts * 4, 'router');
    this.act = ctx.createBuffer(R * c.expertsPerToken * c.intermediateSize * 4, 'act');
    // Grouped MoE: the token list of an expert lives in workgroup memory (4 bytes per token of a pass).
    // Token list + the tiled kernels' 12 KiB of weight/input tiles.
    this.groupedOk = !ctx.caps.cpuLike && R * 4 + 1024 + 12288 <= ctx.caps.maxWorkgroupStorage;
    this.smat = smatUsable(ctx.caps);
    // The subgroup-matrix MoE: the token list next to the tiles (inputs, weights, result staging).
    const moeFits = (tm: number) => this.smat && R * 4 + 1024 + smatTileBytes(ctx.caps, tm) <= ctx.caps.maxWorkgroupStorage;
    this.smatMoeOk = moeFits(32);
    // Dense GEMMs: 64-token tiles once passes are long enough to fill them (20b, 512-token chunks on the H100: 3862
    // -> 4271 tok/s; 128 measured no faster, session 10). MoE: 128-token tiles where an expert averages at least 128
    // tokens a pass (each weight tile then decoded once per pass; 20b, 1024-token chunks: mlp1 + mlp2 110.9 → 92.6 ms
    // per chunk), else 32 (64 measured slower than both, sessions 6 and 10). bench/RESULTS.md.
    this.smatDenseTM = R >= 256 ? 64 : 32;
    this.smatMoeTM = (R * c.expertsPerToken) / c.numExperts >= 128 && moeFits(128) ? 128 : 32;
    this.groupedMinTokens = this.groupedOk ? o.groupedMoeMinTokens : Infinity;
    this.groupedTiled = o.groupedMoeTiled;
    this.gemmMinTokens = ctx.caps.cpuLike ? Infinity : o.prefillGemmMinTokens;
    if (o.kvCache === 'f16' && ctx.caps.cpuLike) throw new KernelShapeError("kvCache 'f16' needs the GPU kernel shapes");
    this.kvHalf = o.kvCache === 'f16';
    this.expertOut = ctx.createBuffer(this.groupedOk ? R * c.expertsPerToken * H * 4 : 16, 'expert-out');
    // Split-K partials: sized for as many tokens as fit in 256 MiB; longer prefill chunks attend in token groups.
    const perToken = (chunk: number) => c.numAttentionHeads * Math.ceil(o.maxContext / chunk) * (c.headDim + 4) * 4;
    const budget = Math.min(256 << 20, ctx.caps.maxStorageBindingSize, ctx.caps.maxBufferSize);
    this.partTokens = Math.max(1, Math.min(R, o.attentionTokens ?? R, Math.floor(budget / perToken(ATTN_CHUNK))));
    this.part = ctx.createBuffer(this.partTokens * perToken(ATTN_CHUNK), 'attn-partials');
    // Logits for up to `logitRows` rows at once (prefill 'all' is done in slices of this many rows).
    // (at most 128 rows: 103 MB for gpt-oss; long prefill chunks need not grow it).
    this.logitRows = Math.max(1, Math.min(R, 128, Math.floor(ctx.caps.maxStorageBindingSize / (c.vocabSize * 4))));
    this.logits = ctx.createBuffer(this.logitRows * c.vocabSize * 4, 'logits');
    this.tokenOut = ctx.createBuffer(Math.max(16, R * 4), 'tokens');
    // GPU shapes: the sampler's passes over the vocabulary spread over many workgroups (one workgroup reading a row is
    // latency-bound); CPU rasterisers gain nothing from it.
    this.samplePartials = ctx.caps.cpuLike ? null : samplePartialsPrograms(c.vocabSize);
    this.sampleParts = this.samplePartials ? ctx.createBuffer(samplePartsBytes(this.samplePartials, SPREAD_SAMPLE_ROWS), 'sample partials') : null;
    this.tokIn = ctx.createBuffer(Math.max(16, R * 4), 'token-ids');
    this.foldScratch = ctx.caps.cpuLike ? null : ctx.createBuffer(routerFoldLayout(c.numExperts, H).total * 4, 'router fold');
    this.routerFold = !!o.routerFold;
  }

  private readonly foldScratch: GPUBuffer | null;
  /**
   * Decode steps of up to 8 rows fold the router into the QKV and out GEMVs and mlp1 (router-fold.ts): one dependent
   * dispatch per layer less. GPU shapes only.
   */
  private routerFold: boolean;
  /** @internal Benchmarks: the fold (true) or the router's own GEMV (LoadGptOssOptions.routerFold). */
  setRouterFold(on: boolean): void {
    if (on && !this.layers.some((L) => L.fold)) throw new KernelShapeError('router fold: load the model with routerFold: true to make its weights');
    this.plans.clear();
    this.routerFold = on;
  }
  /** @internal Decode steps fold the router (benchmarks tell the GEMVs apart by their workgroups). */
  get routerFolded(): boolean {
    return this.routerFold && !!this.foldScratch && this.layers.some((L) => L.fold);
  }

  /** Makes each layer's fold weights (Wg | c, Mo) on the GPU, once at load. */
  private async prepareRouterFold(): Promise<void> {
    if (!this.foldScratch) return;
    const c = this.config;
    const s = { E: c.numExperts, H: c.hiddenSize, AW: c.numAttentionHeads * c.headDim };
    const bytes = routerFoldWeightBytes(s);
    const prog = routerFoldPrecomputeProgram(s);
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      if (L.out.length !== 1 || L.gate.length !== 1) continue;
      const fold = { wgc: this.ctx.createBuffer(bytes.wgc, `fold.${l}.wgc`), mo: this.ctx.createBuffer(bytes.mo, `fold.${l}.mo`) };
      const rec = this.ctx.begin();
      routerFoldPrecompute(rec, prog, s, { wr: L.gate[0].buffer, gain: L.mlpNorm, wo: L.out[0].buffer, bo: L.outBias, ...fold });
      rec.submit();
      L.fold = fold;
    }
    await this.ctx.sync();
  }

  /** Uploads all weights in their stored formats. */
  static async load(
    ctx: GpuContext,
    config: GptOssConfig,
    src: TensorSource,
    options: LoadGptOssOptions,
  ): Promise<GptOssGpu> {
    const c = config;
    let loaded = 0;
    const progress = (n: number, name: string) => {
      loaded += n;
      options.onProgress?.(loaded, name);
    };
    const f32Host = async (name: string): Promise<Float32Array> => {
      const u8 = await src.read(name);
      const f = u8.byteOffset % 4 === 0 ? u8 : u8.slice();
      const data = src.dtype(name) === 'F32' ? new Float32Array(f.buffer, f.byteOffset, f.byteLength >> 2) : bf16ToF32Array(u8);
      progress(u8.byteLength, name);
      return data;
    };
    const f32 = async (name: string): Promise<GPUBuffer> => ctx.upload(await f32Host(name), name);
    const maxBind = Math.min(ctx.caps.maxStorageBindingSize, ctx.caps.maxBufferSize);
    const rowsParts = async (name: string, rows: number, rowBytes: number): Promise<WeightPart[]> => {
      const per = Math.max(1, Math.floor(maxBind / rowBytes));
      const parts: WeightPart[] = [];
      let whole: Uint8Array | null = null;
      for (let r0 = 0; r0 < rows; r0 += per) {
        const n = Math.min(per, rows - r0);
        let bytes: Uint8Array;
        if (per >= rows) bytes = await src.read(name);
        else if (src.readRange) bytes = await src.readRange(name, r0 * rowBytes, (r0 + n) * rowBytes);
        else {
          whole ??= await src.read(name);
          bytes = whole.subarray(r0 * rowBytes, (r0 + n) * rowBytes);
        }
        parts.push({ buffer: ctx.upload(bytes, `${name}[${r0}:${r0 + n}]`), rowStart: r0, rows: n });
        progress(bytes.byteLength, name);
      }
      return parts;
    };
    const H = c.hiddenSize;
    const I = c.intermediateSize;
    const E = c.numExperts;
    const QKVW = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim;
    const expertBytes1 = 2 * I * (H / 2);
    const expertBytes2 = H * (I / 2);
    const expertsPerPart = Math.max(1, Math.min(E, Math.floor(maxBind / Math.max(expertBytes1, expertBytes2))));
    const expertParts = async (name: string, perExpert: number): Promise<GPUBuffer[]> => {
      if (expertsPerPart >= E) {
        const b = await src.read(name);
        progress(b.byteLength, name);
        return [ctx.upload(b, name)];
      }
      const out: GPUBuffer[] = [];
      for (let e0 = 0; e0 < E; e0 += expertsPerPart) {
        const e1 = Math.min(E, e0 + expertsPerPart);
        const b = src.readRange
          ? await src.readRange(name, e0 * perExpert, e1 * perExpert)
          : (await src.read(name)).subarray(e0 * perExpert, e1 * perExpert);
        progress(b.byteLength, name);
        out.push(ctx.upload(b, `${name}[${e0}:${e1}]`));
      }
      return out;
    };
    const raw = async (name: string): Promise<GPUBuffer> => {
      const b = await src.read(name);
      progress(b.byteLength, name);
      return ctx.upload(b, name);
    };
    const layers: Layer[] = [];
    for (let n = 0; n < c.numHiddenLayers; n++) {
      const b = `block.${n}`;
      layers.push({
        attnNorm: await f32(`${b}.attn.norm.scale`),
        qkv: await rowsParts(`${b}.attn.qkv.weight`, QKVW, H * 2),
        qkvBias: await f32(`${b}.attn.qkv.bias`),
        sinks: await f32(`${b}.attn.sinks`),
        out: await rowsParts(`${b}.attn.out.weight`, H, c.numAttentionHeads * c.headDim * 2),
        outBias: await f32(`${b}.attn.out.bias`),
        ...(await (async () => {
          const g = await f32Host(`${b}.mlp.norm.scale`);
          let mx = 0;
          for (const v of g) mx = Math.max(mx, Math.abs(v));
          return { mlpNorm: ctx.upload(g, `${b}.mlp.norm.scale`), xnExp: prescaleExp(Math.sqrt(H) * mx) };
        })()),
        gate: await rowsParts(`${b}.mlp.gate.weight`, E, H * 2),
        gateBias: await f32(`${b}.mlp.gate.bias`),
        mlp1Blocks: await expertParts(`${b}.mlp.mlp1_weight.blocks`, expertBytes1),
        mlp1Scales: await raw(`${b}.mlp.mlp1_weight.scales`),
        mlp1Bias: await f32(`${b}.mlp.mlp1_bias`),
        mlp2Blocks: await expertParts(`${b}.mlp.mlp2_weight.blocks`, expertBytes2),
        mlp2Scales: await raw(`${b}.mlp.mlp2_weight.scales`),
        mlp2Bias: await f32(`${b}.mlp.mlp2_bias`),
      });
    }
    const finalNorm = await f32('norm.scale');
    const unembed = await rowsParts('unembedding.weight', c.vocabSize, H * 2);
    const embedding = await rowsParts('embedding.weight', c.vocabSize, H * 2);
    const moe: MoeShape = { H, I, E, k: c.expertsPerToken, expertsPerPart };
    const model = new GptOssGpu(
      ctx,
      config,
      {
        maxContext: options.maxContext,
        maxBatch: options.maxBatch ?? 1,
        // GPUs: long passes fill the tensor-core tiles (20b prefill on the H100: 128 → 512 tokens 2.1-2.2x, 512 →
        // 1024 another 1.1-1.15x; bench/RESULTS.md sessions 6-7) as long as the grouped MoE's per-expert token lists
        // still fit in workgroup memory next to its tiles; CPU rasterisers keep 128.
        prefillChunk:
          options.prefillChunk ??
          (ctx.caps.cpuLike ? 128 : 1024 * 4 + 1024 + 21504 <= ctx.caps.maxWorkgroupStorage ? 1024 : 512),
        attentionTokens: options.attentionTokens,
        // Measured faster only where experts get ~16 tokens per pass on average (20b: 128-token chunks).
        groupedMoeMinTokens: options.groupedMoeMinTokens ?? Math.ceil((16 * c.numExperts) / c.expertsPerToken),
        groupedMoeTiled: options.groupedMoeTiled ?? true,
        prefillGemmMinTokens: options.prefillGemmMinTokens ?? PREFILL_GEMM_MIN_TOKENS,
        kvCache: options.kvCache ?? 'f32',
        routerFold: options.routerFold ?? false,
      },
      { layers, finalNorm, unembed, embedding, moe },
    );
    await model.probeSubgroupMatrix();
    if (options.routerFold) await model.prepareRouterFold();
    return model;
  }

  createSequence(capacity = this.maxContext): GpuSequence {
    if (capacity > this.maxContext) {
      throw new KernelShapeError(`sequence capacity ${capacity} exceeds the model's maxContext ${this.maxContext}`);
    }
    const c = this.config;
    const bytes = 2 * capacity * c.numKeyValueHeads * c.headDim * (this.kvHalf ? 2 : 4);
    const kv = this.layers.map((_, i) => this.ctx.createBuffer(bytes, `kv${i}`));
    const s = new GpuSequence(kv, capacity, this);
    this.sequences.add(s);
    return s;
  }

  /** @internal */
  forget(s: GpuSequence): void {
    this.sequences.delete(s);
  }

  /** The K/V cache holds f16 (LoadGptOssOptions.kvCache). */
  readonly kvHalf: boolean;
  private moeVariant: MoeProgramOptions = {};
  /** @internal Benchmarks: the narrow attention (few workgroups) issues all its K/V loads up front (default on). */
  attnPrefetch = true;
  /** @internal Benchmarks: a workgroup per row for GEMVs of at most 256 rows (default on). */
  narrowRouter = true;
  /** @internal Benchmarks: GemvBf16Options.diag for the layers' GEMVs (results wrong; timing only). */
  gemvDiag: GemvBf16Options['diag'] = undefined;
  /**
   * @internal The out-projection GEMV also reads the router GEMV's weights and gain into L2 (extra workgroups,
   * GemvBf16Options.ride; GPU shapes): the router, next, then waits on L2 rather than DRAM (H100, 20b step at ctx 128
   * 2266 → 2250 µs; bench/RESULTS.md, session 12). Benchmarks switch it off.
   */
  rideRouter = true;
  private rideSinkBuf: GPUBuffer | null = null;
  private rideSink(bytes: number): GPUBuffer {
    if (!this.rideSinkBuf || this.rideSinkBuf.size < bytes) {
      // Captured steps bind the sink: a new one invalidates them (in practice it is made once, at the first step).
      this.plans.clear();
      this.rideSinkBuf?.destroy();
      this.rideSinkBuf = this.ctx.createBuffer(bytes, 'ride sink');
    }
    return this.rideSinkBuf;
  }
  /**
   * The per-token MoE kernels take f16-pair activations (xn written so by the router GEMV, act by mlp1) where the
   * adapter has shader-f16: the f16 path's 2e-2 tolerance covers the rounding, and the kernels then load half the
   * activation bytes and convert none (H100, per 20b step: mlp1 619 → 534 µs, mlp2 434 → 344 µs; bench/RESULTS.md,
   * session 9).
   */
  private halfMoeActs(): boolean {
    const v = this.moeVariant;
    return v.halfActivations ?? (this.ctx.caps.f16 && !this.ctx.caps.cpuLike && !v.legacy && !v.lut);
  }
  /**
   * The f16-pair decode of mlp1 and mlp2: on the f16 path, the raw pairs (no rescale per pair; inputs prescaled) with
   * two weight words per f16 chain (H100, 20b step in place: 2322 → 2240 µs; bench/RESULTS.md, session 12).
   */
  private moeDecodes(half: boolean): [MoeDecodeVariant | undefined, MoeDecodeVariant | undefined] {
    if (!half || !this.ctx.caps.f16) return [undefined, undefined];
    const v = this.moeVariant;
    const d1 = v.decode ?? DEFAULT_DECODE;
    return [d1, v.decode2 ?? v.decode ?? DEFAULT_DECODE];
  }
  /** @internal Benchmarks: switch the MoE kernel variant (rows per group, loop form). */
  setMoeVariant(v: MoeProgramOptions): void {
    this.plans.clear();
    this.moeVariant = v;
    for (const key of ['mlp1:0', 'mlp1:1', 'mlp1:0:fold', 'mlp1:1:fold', 'mlp2:0', 'mlp2:1']) this.prog.delete(key);
  }
  /** CPU time (ms) spent recording and submitting the last generated step (benchmarks). */
  lastRecordMs = 0;
  /** @internal Benchmarks: the readback pacer's estimate of the GPU step (ms) at the last token read back. */
  lastPacedStepMs = Number.NaN;

  private prog = new Map<string, KernelProgram>();
  private p(key: string, make: () => KernelProgram): KernelProgram {
    let p = this.prog.get(key);
    if (!p) {
      p = make();
      this.prog.set(key, p);
    }
    return p;
  }

  private writeEmbeddings(tokens: ArrayLike<number>): void {
    const ids = new Uint32Array(tokens.length);
    for (let t = 0; t < tokens.length; t++) {
      const tok = tokens[t];
      if (!(tok >= 0 && tok < this.config.vocabSize)) {
        throw new KernelShapeError(`token id ${tok} out of range 0..${this.config.vocabSize - 1}`);
      }
      ids[t] = tok;
    }
    this.ctx.write(this.tokIn, ids);
  }

  private embed(rec: StepRecorder, tokens: GPUBuffer, tokIndex: number, rows: number): void {
    const per = this.embedding[0].rows;
    const prog = this.p('embed', () => embedProgram(this.config.hiddenSize, this.embedding.length, per));
    embed(rec, prog, { parts: this.embedding.map((p) => p.buffer), tokens, x: this.x, rows, tokIndex });
  }

  private gemv(
    rec: StepRecorder,
    parts: WeightPart[],
    K: number,
    rows: number,
    outStride: number,
    o: {
      norm?: GPUBuffer;
      bias?: GPUBuffer;
      residual?: boolean;
      x: GPUBuffer;
      /** First row of x to use (default 0). */
      xRow0?: number;
      out: GPUBuffer;
      xnOut?: GPUBuffer;
      /** Write xnOut as f16 pairs (GEMV only). */
      xnHalf?: boolean;
      /** Multiplier of the f16 pairs (a power of two; default 1). */
      xnScale?: number;
      /** Buffers read ahead into L2 by extra workgroups (GemvBf16Options.ride; GEMV only). */
      ride?: readonly GPUBuffer[];
      /** The router fold's role and buffers (GemvBf16Options.fold; GEMV only). */
      fold?: { role: 'base' | 'out'; wgc?: GPUBuffer; mlpGain?: GPUBuffer; mo?: GPUBuffer };
    },
  ): void {
    const x0 = o.xRow0 ?? 0;
    if (rows >= this.gemmMinTokens && K % 32 === 0) {
      if (o.xnHalf) throw new KernelShapeError('gemv: f16-pair normalised rows are a GEMV output only');
      const wn = !!o.xnOut;
      const sm = this.smat;
      const tm = this.smatDenseTM;
      const prog = this.p(`gemm:${K}:${!!o.norm}:${!!o.bias}:${!!o.residual}:${wn}:${sm}:${tm}`, () =>
        gemmBf16Program(this.ctx.caps, {
          K,
          norm: !!o.norm,
          bias: !!o.bias,
          residual: !!o.residual,
          writeNormed: wn,
          subgroupMatrix: sm,
          tileTokens: tm,
        }),
      );
      gemmBf16(rec, prog, { parts, x: o.x, xRow0: x0, tokens: rows, gain: o.norm, bias: o.bias, out: o.out, xnOut: o.xnOut, outStride });
      return;
    }
    for (let r0 = 0; r0 < rows; r0 += 8) {
      const M = Math.min(8, rows - r0);
      const wn = !!o.xnOut;
      // Few rows (the router's 32 or 128): a workgroup per row (RESULTS.md, session 9).
      const fold = o.fold && this.foldScratch ? o.fold : undefined;
      // (The fold's workgroups are 8 rows wide.)
      const RW = !fold && this.narrowRouter && outStride <= 256 ? 1 : 8;
      const diag = outStride < this.config.vocabSize ? this.gemvDiag : undefined;
      const ride = o.ride && !this.ctx.caps.cpuLike ? o.ride : undefined;
      if (o.fold && (!fold || rows > 8)) throw new KernelShapeError('gemv: the router fold serves GPU-shape steps of up to 8 rows');
      const key = `gemv:${K}:${M}:${!!o.norm}:${!!o.bias}:${!!o.residual}:${wn}:${!!o.xnHalf}:${RW}:${diag ?? ''}:${ride?.length ?? 0}:${fold?.role ?? ''}`;
      const prog = this.p(key, () =>
        gemvBf16Program(this.ctx.caps, {
          K,
          M,
          norm: !!o.norm,
          bias: !!o.bias,
          residual: !!o.residual,
          writeNormed: wn,
          normedHalf: !!o.xnHalf,
          rowsPerWorkgroup: RW,
          diag,
          ride: ride?.length,
          fold: fold ? { role: fold.role, E: this.config.numExperts, H: this.config.hiddenSize } : undefined,
        }),
      );
      gemvBf16(rec, prog, {
        parts,
        x: o.x,
        xRow0: x0 + r0,
        gain: o.norm,
        bias: o.bias,
        out: o.out,
        xnOut: o.xnOut,
        outRow0: r0,
        outStride,
        xnScale: o.xnScale,
        ride: ride
          ? { buffers: ride, sink: this.rideSink(Math.ceil(Math.max(...ride.map((b) => b.size / 16)) / 256) * 1024) }
          : undefined,
        fold: fold ? { scratch: this.foldScratch!, wgc: fold.wgc, mlpGain: fold.mlpGain, mo: fold.mo } : undefined,
      });
    }
  }

  /**
   * Runs `rows` rows of x (already embedded) through all layers. `attend(rec, layer)` records the attention part for
   * those rows (it differs between decode and prefill).
   */
  private layersPass(rec: StepRecorder, rows: number, attend: (rec: StepRecorder, l: number) => void): void {
    const c = this.config;
    const H = c.hiddenSize;
    const QKVW = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim;
    const AW = c.numAttentionHeads * c.headDim;
    const moe = this.moeShape;
    // f16-pair activations only where the router GEMV (not the prefill GEMM) feeds the per-token MoE kernels.
    const half = this.halfMoeActs() && rows < this.groupedMinTokens && rows < this.gemmMinTokens;
    const variant = { ...this.moeVariant, halfActivations: half };
    const [d1, d2] = this.moeDecodes(half);
    const mlp1 = this.p(`mlp1:${+half}`, () => moeMlp1Program(this.ctx.caps, moe, { ...variant, decode: d1 }));
    // The router folded into the GEMVs and mlp1 (decode steps of up to 8 rows on the GPU shapes).
    const foldOk =
      this.routerFold && !!this.foldScratch && rows <= FOLD_MAX_ROWS && rows < this.groupedMinTokens && rows < this.gemmMinTokens &&
      !variant.legacy && !variant.lut;
    const mlp1Fold = foldOk ? this.p(`mlp1:${+half}:fold`, () => moeMlp1Program(this.ctx.caps, moe, { ...variant, decode: d1, fold: true })) : null;
    const mlp2 = this.p(`mlp2:${+half}`, () => moeMlp2Program(this.ctx.caps, moe, { ...variant, decode: d2 }));
    // Raw decode: the inputs arrive prescaled by powers of two, undone in f32 (Layer.xnExp, actExp).
    const raw1 = !!d1?.raw;
    const raw2 = !!d2?.raw;
    const ka = actExp(c.swigluLimit);
    const sm = this.smat && this.smatMoeOk && this.groupedTiled;
    const go = { tiled: this.groupedTiled, subgroupMatrix: sm, tileTokens: this.smatMoeTM };
    const gk = `${+this.groupedTiled}:${+sm}:${this.smatMoeTM}`;
    const grouped = () => ({
      mlp1: this.p(`g-mlp1:${gk}`, () => moeGroupedMlp1Program(this.ctx.caps, moe, this.rows, go)),
      mlp2: this.p(`g-mlp2:${gk}`, () => moeGroupedMlp2Program(this.ctx.caps, moe, this.rows, go)),
      combine: this.p('g-combine', () => moeCombineProgram(moe)),
    });
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      const lf = mlp1Fold && L.fold ? L.fold : null;
      this.gemv(rec, L.qkv, H, rows, QKVW, {
        norm: L.attnNorm,
        bias: L.qkvBias,
        x: this.x,
        out: this.qkv,
        fold: lf ? { role: 'base', wgc: lf.wgc } : undefined,
      });
      attend(rec, l);
      this.gemv(rec, L.out, AW, rows, H, {
        bias: L.outBias,
        residual: true,
        x: this.attn,
        out: this.x,
        ride: !lf && this.rideRouter && L.gate.length === 1 ? [L.gate[0].buffer, L.mlpNorm] : undefined,
        fold: lf ? { role: 'out', mlpGain: L.mlpNorm, mo: lf.mo } : undefined,
      });
      if (!lf) {
        this.gemv(rec, L.gate, H, rows, c.numExperts, {
          norm: L.mlpNorm,
          bias: L.gateBias,
          x: this.x,
          out: this.router,
          xnOut: this.xn,
          xnHalf: half,
          xnScale: raw1 ? 2 ** L.xnExp : 1,
        });
      }
      if (rows >= this.groupedMinTokens) {
        moeGrouped(rec, grouped(), moe, {
          blocks1: L.mlp1Blocks,
          scales1: L.mlp1Scales,
          bias1: L.mlp1Bias,
          blocks2: L.mlp2Blocks,
          scales2: L.mlp2Scales,
          bias2: L.mlp2Bias,
          logits: this.router,
          xn: this.xn,
          act: this.act,
          y: this.expertOut,
          x: this.x,
          tokens: rows,
          limit: c.swigluLimit,
        });
        continue;
      }
      const common = { logits: this.router, tokens: rows, xRow0: 0 };
      moeMlp1(rec, lf ? mlp1Fold! : mlp1, moe, {
        ...common,
        fold: lf ? { scratch: this.foldScratch!, routerBias: L.gateBias, xnScale: raw1 ? 2 ** L.xnExp : 1 } : undefined,
        blocks: L.mlp1Blocks,
        scales: L.mlp1Scales,
        bias: L.mlp1Bias,
        xn: this.xn,
        act: this.act,
        limit: c.swigluLimit,
        xScale: raw1 ? 2 ** (15 - L.xnExp) : 1,
        actOut: raw2 ? 2 ** ka : 1,
      });
      moeMlp2(rec, mlp2, moe, {
        ...common,
        blocks: L.mlp2Blocks,
        scales: L.mlp2Scales,
        bias: L.mlp2Bias,
        act: this.act,
        x: this.x,
        actScale: raw2 ? 2 ** (15 - ka) : 1,
      });
    }
  }

  /** Attention programs for `chunk` keys per workgroup (prefill: ATTN_CHUNK; decode: decodeChunk). */
  private attentionProgs(chunk: number = ATTN_CHUNK) {
    const s = this.attnShape;
    return {
      attention: this.p(`attn:${chunk}`, () => attentionProgram(this.ctx.caps, s, undefined, chunk, false, this.kvHalf)),
      // The narrow variant runs when the workgroups are few, where issuing every K/V load up front pays.
      attentionNarrow: this.p(`attn-narrow:${chunk}:${+this.attnPrefetch}:${this.narrowHeads ?? 0}`, () => {
        const G = s.NQ / s.NKV;
        return attentionProgram(this.ctx.caps, s, this.narrowHeads ?? Math.max(1, G / 8), chunk, this.attnPrefetch, this.kvHalf);
      }),
      combine: this.p(`attn-combine:${chunk}`, () => attentionCombineProgram(s, chunk)),
      ropeKv: this.p('rope-kv', () => ropeKvProgram(s, this.kvHalf)),
    };
  }

  private narrowHeads: number | null = null;
  /** @internal Benchmarks: query heads per workgroup of the narrow decode attention (null: the default, G/8). */
  setNarrowAttentionHeads(heads: number | null): void {
    this.plans.clear();
    this.narrowHeads = heads;
  }

  /**
   * Benchmarks: decode attention's keys per workgroup instead of ATTN_CHUNK. (128-key chunks measured faster at 4k and
   * slower at 16k than 256 once P·V read each V row once for all heads: bench/RESULTS.md, session 8.)
   */
  private fixedDecodeChunk: number | null = null;
  /** @internal Benchmarks: decode attention's keys per workgroup (null: ATTN_CHUNK; must fit the partials). */
  setDecodeChunk(chunk: number | null): void {
    this.plans.clear();
    const c = this.config;
    const need = chunk === null ? 0 : c.numAttentionHeads * Math.ceil(this.maxContext / chunk) * (c.headDim + 4) * 4;
    if (need > this.part.size) throw new KernelShapeError(`decode chunk ${chunk}: partials need ${need} bytes, have ${this.part.size}`);
    this.fixedDecodeChunk = chunk;
  }
  private decodeChunk(): number {
    return this.fixedDecodeChunk ?? ATTN_CHUNK;
  }

  private windowOf(l: number): number {
    return l % 2 === 0 ? this.config.slidingWindow : 0;
  }

  /** Records final norm + unembedding for `rows` rows of x starting at `row0` into logits rows 0.. */
  private head(rec: StepRecorder, row0: number, rows: number): void {
    const c = this.config;
    const H = c.hiddenSize;
    if (!this.ctx.caps.cpuLike) {
      // GPU shapes fold the final RMSNorm into the unembedding (its rows read all of x anyway): one dispatch less.
      this.gemv(rec, this.unembed, H, rows, c.vocabSize, { norm: this.finalNorm, x: this.x, xRow0: row0, out: this.logits });
      return;
    }
    rmsNorm(rec, this.p('final-norm', () => rmsNormProgram(this.ctx.caps, H)), {
      x: this.x,
      gain: this.finalNorm,
      out: this.xn,
      rows,
      xRow0: row0,
    });
    this.gemv(rec, this.unembed, H, rows, c.vocabSize, { x: this.xn, out: this.logits });
  }

  private checkBatch(batch: readonly { sequence: GpuSequence; token: number }[]): void {
    if (batch.length < 1 || batch.length > this.rows) {
      throw new KernelShapeError(`decode batch of ${batch.length}: expected 1..${this.rows} (raise maxBatch)`);
    }
    const seen = new Set<GpuSequence>();
    for (const it of batch) {
      if (seen.has(it.sequence)) throw new KernelShapeError('decode batch: a sequence appears twice');
      seen.add(it.sequence);
      if (it.sequence.length >= it.sequence.capacity) {
        throw new KernelShapeError(`sequence is full (${it.sequence.capacity} positions)`);
      }
    }
  }

  /** @internal Benchmarks: records one decode step of `batch` and drops it unsubmitted; returns the host ms spent. */
  recordOnly(batch: readonly { sequence: GpuSequence; token: number }[]): number {
    const t = performance.now();
    const rec = this.recordDecode(batch);
    rec.discard();
    return performance.now() - t;
  }

  private recordDecode(batch: readonly { sequence: GpuSequence; token: number }[]): StepRecorder {
    this.checkBatch(batch);
    this.writeEmbeddings(batch.map((b) => b.token));
    const rec = this.ctx.begin();
    this.recordStep(
      rec,
      batch.map((b) => ({ sequence: b.sequence, pos: b.sequence.length })),
      this.tokIn,
      0,
    );
    return rec;
  }

  /**
   * Decode steps captured as dispatch plans (StepRecorder.replay), by what decides their dispatches: the sequences,
   * the ids buffer, each item's attention splits, the kernel settings. Cleared by every setter that changes kernels.
   */
  private readonly plans = new Map<string, DispatchPlan>();
  /** @internal Decode steps recorded by replaying a captured plan (tests and benchmarks). */
  planReplays = 0;
  private readonly sequenceIds = new WeakMap<GpuSequence, number>();
  private nextSequenceId = 0;

  private planKey(rec: StepRecorder, items: readonly { sequence: GpuSequence; pos: number }[], ids: GPUBuffer): string {
    const chunk = this.decodeChunk();
    const sw = this.config.slidingWindow;
    let key = `${rec.nextSlot}:${this.ctx.bufferId(ids)}:${+this.attnPrefetch}:${+this.narrowRouter}:${this.gemvDiag ?? ''}:${+this.rideRouter}:${+this.routerFold}`;
    for (const it of items) {
      let id = this.sequenceIds.get(it.sequence);
      if (id === undefined) {
        id = this.nextSequenceId++;
        this.sequenceIds.set(it.sequence, id);
      }
      key += `|${id}:${attentionSplits(it.pos, 0, chunk)}:${attentionSplits(it.pos, sw, chunk)}`;
    }
    return key;
  }

  /**
   * Records embed → layers → head for one token per item, ids read from `ids[idIndex..]` on the GPU. The dispatches
   * of a step depend on the positions only through the attention's splits, so a step is captured once and replayed
   * with the new positions and id index patched in (about half the host time of recording it afresh).
   */
  private recordStep(
    rec: StepRecorder,
    items: readonly { sequence: GpuSequence; pos: number }[],
    ids: GPUBuffer,
    idIndex: number,
  ): void {
    const cache = rec.canCapture;
    let key = '';
    if (cache) {
      key = this.planKey(rec, items, ids);
      const plan = this.plans.get(key);
      if (plan && rec.canReplay(plan)) {
        rec.replay(plan, (tag) => (tag < 0 ? idIndex : items[tag].pos));
        this.planReplays++;
        return;
      }
      rec.beginCapture();
      rec.patchTag = { param: 'tokIndex', tag: -1 };
    }
    this.embed(rec, ids, idIndex, items.length);
    rec.patchTag = null;
    const progs = this.attentionProgs(this.decodeChunk());
    this.layersPass(rec, items.length, (r, l) => {
      items.forEach((it, b) => {
        if (cache) r.patchTag = { param: 'pos0', tag: b };
        attention(r, progs, this.attnShape, {
          qkv: this.qkv,
          kv: it.sequence.kv[l],
          cap: it.sequence.capacity,
          rope: this.rope,
          sinks: this.layers[l].sinks,
          out: this.attn,
          part: this.part,
          row0: b,
          pos0: it.pos,
          tokens: 1,
          window: this.windowOf(l),
          writeKV: true,
        });
        r.patchTag = null;
      });
    });
    this.head(rec, 0, items.length);
    if (cache) {
      if (this.plans.size >= 16) this.plans.clear();
      this.plans.set(key, rec.endCapture());
    }
  }

  /**
   * Generation with the loop on the GPU: step i embeds id i from a GPU buffer, runs the model and samples id i+1
   * into the same buffer, so steps are submitted back to back with up to `depth` in flight while earlier ids are
   * read back (4 bytes each) and yielded in order. Stops after `maxTokens` or when `stop(id)` is true; the sequence
   * then holds `first` and every yielded id except the last.
   */
  async *generate(
    seq: GpuSequence,
    first: number,
    maxTokens: number,
    sampling: SampleParams,
    options: GenerateOptions = {},
  ): AsyncGenerator<number> {
    for await (const t of this.run(seq, first, maxTokens, sampling, options, false)) yield t.id;
  }

  /**
   * `generate` that also yields each token's log-probability (log-softmax of the raw logits, f32, computed on the
   * GPU next to the draw: 8 bytes read back per token).
   */
  generateTokens(
    seq: GpuSequence,
    first: number,
    maxTokens: number,
    sampling: SampleParams,
    options: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken> {
    return this.run(seq, first, maxTokens, sampling, options, true);
  }

  private async *run(
    seq: GpuSequence,
    first: number,
    maxTokens: number,
    sampling: SampleParams,
    options: GenerateOptions,
    logprobs: boolean,
  ): AsyncGenerator<GeneratedToken> {
    const depth = Math.max(1, options.depth ?? 3);
    const n = Math.min(maxTokens, seq.capacity - seq.length);
    if (n <= 0) return;
    this.writeEmbeddings([first]);
    // ids[0..n] (id i is embedded by step i, id i+1 sampled by it), then the log-probabilities of ids 1..n.
    const ids = this.ctx.createBuffer((2 * n + 2) * 4, 'generated');
    const start = this.ctx.begin();
    start.copy(this.tokIn, 0, ids, 0, 4);
    start.submit();
    const base = seq.length;
    const sampleProg = this.sampleProg();
    let submitted = 0;
    let dispatches = 0;
    // Each step copies its sampled id into its own mappable buffer, so reading step i never waits for later steps.
    const pacer = this.ctx.pacedReadback ? new ReadbackPacer() : null;
    const ring = Array.from({ length: depth + 1 }, () =>
      this.ctx.device.createBuffer({ size: 16, usage: Usage.MAP_READ | Usage.COPY_DST }),
    );
    try {
      for (let i = 0; i < n; i++) {
        while (submitted < n && submitted < i + depth) {
          const tr = performance.now();
          const rec = this.ctx.begin();
          this.recordStep(rec, [{ sequence: seq, pos: base + submitted }], ids, submitted);
          sample(rec, sampleProg, {
            logits: this.logits,
            tokens: ids,
            rows: 1,
            outIndex: submitted + 1,
            logprobIndex: logprobs ? n + 1 + submitted + 1 : undefined,
            ...sampling,
            counter: (sampling.counter ?? 0) + base + submitted,
            partials: this.partialsArg(1),
          });
          const slot = ring[submitted % ring.length];
          rec.copy(ids, (submitted + 1) * 4, slot, 0, 4);
          if (logprobs) rec.copy(ids, (n + 1 + submitted + 1) * 4, slot, 4, 4);
          rec.submit();
          pacer?.submitted();
          this.lastRecordMs = performance.now() - tr;
          dispatches = rec.dispatches;
          submitted++;
        }
        const slot = ring[i % ring.length];
        const sleep = pacer?.delayMs() ?? 0;
        if (sleep > 0) await new Promise((r) => setTimeout(r, sleep));
        pacer?.mapping(sleep);
        await slot.mapAsync(1 /* READ */);
        pacer?.resolved();
        this.lastPacedStepMs = pacer?.stepMs ?? Number.NaN;
        const got = new Uint32Array(slot.getMappedRange(0, 8));
        const id = got[0];
        const logprob = logprobs ? new Float32Array(got.buffer, got.byteOffset, 2)[1] : Number.NaN;
        slot.unmap();
        seq.tokens.push(i === 0 ? first : this.lastGenerated);
        this.lastGenerated = id;
        this.lastDispatches = dispatches;
        yield { id, logprob };
        if (options.stop?.(id)) break;
      }
    } finally {
      await this.ctx.sync();
      ids.destroy();
      for (const b of ring) b.destroy();
    }
  }

  private lastGenerated = 0;

  private sampleWorkgroup(): number {
    if (this.ctx.caps.cpuLike) return 256;
    return Math.min(1024, this.ctx.device.limits.maxComputeInvocationsPerWorkgroup);
  }
  private sampleProg(): KernelProgram {
    const W = this.sampleWorkgroup();
    return this.p('sample', () => sampleProgram(this.config.vocabSize, W, sampleCandidatesFor(this.ctx.caps.maxWorkgroupStorage, W)));
  }

  /** One decode step for distinct sequences; returns logits [batch, vocab]. */
  async decode(batch: readonly { sequence: GpuSequence; token: number }[]): Promise<Float32Array> {
    const rec = this.recordDecode(batch);
    rec.submit();
    this.lastDispatches = rec.dispatches;
    for (const it of batch) it.sequence.tokens.push(it.token);
    return this.ctx.readF32(this.logits, batch.length * this.config.vocabSize);
  }

  /**
   * One decode step that also samples on the GPU and reads back only the token ids (what a generation loop needs).
   */
  async decodeSample(
    batch: readonly { sequence: GpuSequence; token: number }[],
    sampling: SampleParams,
  ): Promise<Uint32Array> {
    const rec = this.recordDecode(batch);
    sample(rec, this.sampleProg(), {
      logits: this.logits,
      tokens: this.tokenOut,
      rows: batch.length,
      ...sampling,
      partials: this.partialsArg(batch.length),
    });
    rec.submit();
    this.lastDispatches = rec.dispatches;
    for (const it of batch) it.sequence.tokens.push(it.token);
    return this.ctx.readU32(this.tokenOut, batch.length);
  }

  /**
   * Appends `tokens` to the sequence in chunks of `prefillChunk` and returns logits: `'last'` → [vocab], `'all'` →
   * [tokens, vocab], `'none'` → empty.
   */
  async prefill(
    seq: GpuSequence,
    tokens: ArrayLike<number>,
    options: { logits?: 'all' | 'last' | 'none' } = {},
  ): Promise<Float32Array> {
    const mode = options.logits ?? 'last';
    const V = this.config.vocabSize;
    if (seq.length + tokens.length > seq.capacity) {
      throw new KernelShapeError(`prefill of ${tokens.length} tokens overflows the sequence (${seq.capacity} positions)`);
    }
    const all = mode === 'all' ? new Float32Array(tokens.length * V) : null;
    let last: Float32Array = new Float32Array(0);
    const progs = this.attentionProgs();
    let dispatches = 0;
    for (let t0 = 0; t0 < tokens.length; t0 += this.prefillChunk) {
      const n = Math.min(this.prefillChunk, tokens.length - t0);
      const chunk = Array.from({ length: n }, (_, i) => tokens[t0 + i]);
      this.writeEmbeddings(chunk);
      const rec = this.ctx.begin();
      this.embed(rec, this.tokIn, 0, n);
      const pos0 = seq.length;
      this.layersPass(rec, n, (r, l) => {
        ropeKv(r, progs.ropeKv!, {
          qkv: this.qkv,
          kv: seq.kv[l],
          rope: this.rope,
          cap: seq.capacity,
          row0: 0,
          pos0,
          tokens: n,
        });
        for (let g0 = 0; g0 < n; g0 += this.partTokens) {
          attention(r, progs, this.attnShape, {
            qkv: this.qkv,
            kv: seq.kv[l],
            cap: seq.capacity,
            rope: this.rope,
            sinks: this.layers[l].sinks,
            out: this.attn,
            part: this.part,
            row0: g0,
            pos0: pos0 + g0,
            tokens: Math.min(this.partTokens, n - g0),
            window: this.windowOf(l),
            writeKV: false,
          });
        }
      });
      const isLast = t0 + n === tokens.length;
      if (mode === 'all') {
        rec.submit();
        dispatches += rec.dispatches;
        for (let r0 = 0; r0 < n; r0 += this.logitRows) {
          const m = Math.min(this.logitRows, n - r0);
          const rh = this.ctx.begin();
          this.head(rh, r0, m);
          rh.submit();
          dispatches += rh.dispatches;
          all!.set(await this.ctx.readF32(this.logits, m * V), (t0 + r0) * V);
        }
      } else {
        if (mode === 'last' && isLast) this.head(rec, n - 1, 1);
        rec.submit();
        dispatches += rec.dispatches;
        if (mode === 'last' && isLast) last = await this.ctx.readF32(this.logits, V);
      }
      for (const t of chunk) seq.tokens.push(t);
    }
    if (mode === 'none') await this.ctx.sync();
    this.lastDispatches = dispatches;
    return all ?? last;
  }

  /** Waits for the GPU (benchmarks). */
  sync(): Promise<void> {
    return this.ctx.sync();
  }

  /** Bytes of weights a decode step reads at batch 1 (dense + k experts + unembedding), for GB/s figures. */
  decodeWeightBytes(): number {
    const c = this.config;
    const H = c.hiddenSize;
    const I = c.intermediateSize;
    const QKVW = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim;
    const dense = (QKVW * H + H * c.numAttentionHeads * c.headDim + c.numExperts * H) * 2;
    const expert = ((2 * I * H + H * I) * 17) / 32 + (2 * I + H) * 4;
    return c.numHiddenLayers * (dense + c.expertsPerToken * expert) + c.vocabSize * H * 2;
  }

  dispose(): void {
    for (const s of [...this.sequences]) s.dispose();
    const bufs: GPUBuffer[] = [this.x, this.xn, this.qkv, this.attn, this.router, this.act, this.expertOut, this.part, this.logits];
    bufs.push(this.tokenOut, this.tokIn, ...this.embedding.map((p) => p.buffer), this.rope, this.finalNorm, ...this.unembed.map((p) => p.buffer));
    if (this.sampleParts) bufs.push(this.sampleParts);
    if (this.rideSinkBuf) bufs.push(this.rideSinkBuf);
    if (this.foldScratch) bufs.push(this.foldScratch);
    for (const L of this.layers) {
      bufs.push(L.attnNorm, L.qkvBias, L.sinks, L.outBias, L.mlpNorm, L.gateBias, L.mlp1Scales, L.mlp1Bias);
      bufs.push(L.mlp2Scales, L.mlp2Bias, ...L.mlp1Blocks, ...L.mlp2Blocks);
      for (const p of [...L.qkv, ...L.out, ...L.gate]) bufs.push(p.buffer);
      if (L.fold) bufs.push(L.fold.wgc, L.fold.mo);
    }
    for (const b of bufs) b.destroy();
  }
}
