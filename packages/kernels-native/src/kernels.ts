import type { Buf, OpName, PrefillPrecision } from './binding.js';
import { KernelArgumentError } from './errors.js';
import { addon } from './loader.js';

/** A kernel variant compiled into the addon. */
export type Isa = 'scalar' | 'avx2' | 'avx512';

/** A small vector (bias, norm gain, sinks): `Uint16Array` holds bf16 bits, `Float32Array` holds fp32. */
export type SmallVector = Uint16Array | Float32Array;

/** A weight matrix `[rows, cols]`: bf16 bits, fp32, or MXFP4 blocks `[rows, cols/32, 16]` + E8M0 scales `[rows, cols/32]`. */
export type WeightMatrix =
  | { format: 'bf16'; data: Uint16Array | Uint8Array; rows: number; cols: number }
  | { format: 'f32'; data: Float32Array; rows: number; cols: number }
  | { format: 'mxfp4'; blocks: Uint8Array; scales: Uint8Array; rows: number; cols: number };

const dt = (v: SmallVector | undefined | null): number => (v instanceof Float32Array ? 1 : 0);

function need(cond: boolean, what: string): void {
  if (!cond) throw new KernelArgumentError(what);
}

/** The variant in use: the best the CPU has, unless `GPTOSS_CPU_ISA` or {@link setIsa} chose another. */
export function getIsa(): Isa {
  return addon().isa();
}
/** Forces a variant for this process (tests run all three). Throws if the CPU lacks it. */
export function setIsa(isa: Isa): void {
  addon().setIsa(isa);
}
export function supportedIsas(): Isa[] {
  return addon().supportedIsas() as Isa[];
}
export function cpuFeatures(): string[] {
  return addon().cpuFeatures().split(' ').filter(Boolean);
}
/**
 * Activation precision of the many-token GEMMs (prefill, large expert groups). `'fp32'` (default) keeps the
 * reference's accuracy (~1e-6); `'bf16'` rounds those GEMMs' activations to bf16 and uses the AVX-512 BF16 dot
 * instructions, about twice the FLOP rate, at ~1e-3 relative error (the runtime's bf16 tolerance class, 2e-2).
 * Decode (≤ 4 tokens per weight) is always fp32-accurate. Also set by `GPTOSS_CPU_PREFILL=bf16`.
 * No effect on CPUs without AVX-512 BF16.
 *
 * `'int8'` (opt-in, `GPTOSS_CPU_PREFILL=int8`): the MXFP4 expert GEMMs of prefill (more than 4 tokens per expert)
 * quantize their activations per token and 32-value block to int8 (scale max|x| / 127, as llama.cpp does) and use
 * AVX-512 VNNI `vpdpbusd` against the exact int8 FP4 weights: ~5e-3 relative error per GEMM (the bf16 class, not
 * the fp32 class, hence opt-in), about 1.5x the int16 GEMM's rate. It replaces the int16 GEMM whatever
 * `setPrefillInt16` says. As a low-precision mode as a whole, it also gives the bf16-weight prefill GEMMs
 * (attention qkv / out) bf16 activations, as `'bf16'` does (~1e-3 per GEMM); the router stays fp32. Model level:
 * 2e-2 class (worst logits row 1.1e-2 on the runtime fixture without router near-ties). The getter reports `'int8'`
 * only while it takes effect: the scalar and AVX2 variants, and CPUs without VNNI, keep their default path and
 * report `'fp32'`.
 */
export function setPrefillPrecision(p: PrefillPrecision): void {
  need(p === 'fp32' || p === 'bf16' || p === 'int8', `setPrefillPrecision: expected 'fp32', 'bf16' or 'int8', got '${String(p)}'`);
  addon().setPrefillPrecision(p);
}
export function getPrefillPrecision(): PrefillPrecision {
  return addon().prefillPrecision();
}
/**
 * The int16 MXFP4 expert GEMM for prefill (more than 4 tokens per expert) on AVX-512 VNNI: FP4 weights as exact
 * int16, activations quantized per token and 32-value block to int16 with an fp32 scale, `vpdpwssd` (twice the fp32
 * FMA rate): ~2e-5 relative error per GEMM, inside the fp32 class (the runtime conformance passes at 1e-3 with a
 * ~10x margin). On by default where VNNI exists; `false` (or `GPTOSS_CPU_INT16GEMM=0`) selects the fp32 GEMM. The
 * getter reports whether it takes effect (AVX-512 variant with VNNI in use). `setPrefillPrecision('bf16')` wins.
 */
export function setPrefillInt16(on: boolean): void {
  need(typeof on === 'boolean', `setPrefillInt16: expected a boolean, got ${typeof on}`);
  addon().setPrefillInt16(on);
}
export function getPrefillInt16(): boolean {
  return addon().prefillInt16();
}
/**
 * Activation precision of the MXFP4 expert GEMVs in decode (≤ 4 tokens per expert). `'fp32'` (default) keeps the
 * reference's accuracy; `'int8'` quantizes the activations to int8 per 32-block with an fp32 scale and uses AVX-512
 * VNNI integer dot products (llama.cpp's route): fewer instructions per weight byte, ~1e-3..1e-2 relative error
 * (the runtime's bf16 tolerance class, 2e-2). Also set by `GPTOSS_CPU_DECODE=int8`. The getter reports `'int8'`
 * only while it takes effect: the scalar and AVX2 variants, and CPUs without VNNI, keep the fp32 path.
 */
export function setDecodePrecision(p: 'fp32' | 'int8'): void {
  need(p === 'fp32' || p === 'int8', `setDecodePrecision: expected 'fp32' or 'int8', got '${String(p)}'`);
  addon().setDecodePrecision(p);
}
export function getDecodePrecision(): 'fp32' | 'int8' {
  return addon().decodePrecision();
}
/**
 * The int16 MXFP4 expert GEMV for decode (≤ 4 tokens per expert) on AVX-512 VNNI: activations quantized per 32-value
 * block to int16 with an fp32 scale and split exactly into two int8 halves, FP4 values ×2 (+12) looked up with
 * `vpshufb`, `vpdpbusd` integer dot products: ~1e-5 relative error per GEMV, inside the fp32 class, at about half
 * the fp32 path's instructions per weight byte. On by default where VNNI exists; `false` (or
 * `GPTOSS_CPU_INT16GEMV=0`) selects the fp32-accurate bf16 dot path. The getter reports whether it takes effect
 * (AVX-512 variant with VNNI in use and the opt-in `setDecodePrecision('int8')` off).
 *
 * @example
 * setDecodeInt16(false); // A/B against the fp32 GEMV
 */
export function setDecodeInt16(on: boolean): void {
  need(typeof on === 'boolean', `setDecodeInt16: expected a boolean, got ${typeof on}`);
  addon().setDecodeInt16(on);
}
export function getDecodeInt16(): boolean {
  return addon().decodeInt16();
}
/**
 * Per-op wall-time totals (milliseconds) of `CpuModel.forward` since the last reset, for benchmarks: `moe` is the
 * whole MoE block and `mlp1` / `mlp2` the parts of it spent in the expert matmuls; `other` is residual adds and KV
 * cache writes. Collected only while {@link setOpProfiling} (or `GPTOSS_CPU_PROFILE=1`) is on.
 *
 * @example
 * setOpProfiling(true);
 * await model.forward(request);
 * console.log(readOpProfile({ reset: true })); // { qkv: 812.4, attention: 301.2, moe: 2410.7, ... }
 */
export function readOpProfile(options: { reset?: boolean } = {}): Record<OpName, number> {
  return addon().opProfile(options.reset === true);
}
export function setOpProfiling(on: boolean): void {
  need(typeof on === 'boolean', `setOpProfiling: expected a boolean, got ${typeof on}`);
  addon().setOpProfiling(on);
}
/** Threads in the pool (default: all cores, or `GPTOSS_THREADS`). */
export function getThreads(): number {
  return addon().threads();
}
export function setThreads(n: number): void {
  need(Number.isInteger(n) && n >= 0, `setThreads: expected a non-negative integer, got ${n}`);
  addon().setThreads(n);
}

export interface MatmulParams {
  /** `[tokens, weight.cols]` */
  x: Float32Array;
  tokens: number;
  weight: WeightMatrix;
  bias?: SmallVector | null;
  /** `[tokens, rows]`, or `[tokens, rows/2]` with `epilogue: 'swiglu'`. */
  out: Float32Array;
  /** `'swiglu'`: rows are interleaved (gate, linear) pairs → clamped SwiGLU with the +1 on the linear half. */
  epilogue?: 'none' | 'swiglu';
  swigluLimit?: number;
  swigluAlpha?: number;
}

function matmulArgs(p: MatmulParams) {
  const w = p.weight;
  const outCols = p.epilogue === 'swiglu' ? w.rows / 2 : w.rows;
  need(p.x.length >= p.tokens * w.cols, `matmul: x holds ${p.x.length} floats, expected ${p.tokens}x${w.cols}`);
  need(p.out.length >= p.tokens * outCols, `matmul: out holds ${p.out.length} floats, expected ${p.tokens}x${outCols}`);
  need(!p.bias || p.bias.length >= w.rows, `matmul: bias must hold ${w.rows} values`);
  need(p.epilogue !== 'swiglu' || w.rows % 2 === 0, 'matmul: swiglu needs an even number of rows');
  if (w.format === 'mxfp4') need(w.cols % 32 === 0, `matmul: MXFP4 needs cols % 32 == 0, got ${w.cols}`);
  const fmt = w.format === 'bf16' ? 0 : w.format === 'mxfp4' ? 1 : 2;
  const data: Buf = w.format === 'mxfp4' ? w.blocks : w.data;
  const scales = w.format === 'mxfp4' ? w.scales : null;
  return [
    p.x,
    p.tokens,
    fmt,
    data,
    scales,
    w.rows,
    w.cols,
    p.bias ?? null,
    dt(p.bias),
    p.out,
    p.epilogue === 'swiglu' ? 1 : 0,
    p.swigluLimit ?? 7,
    p.swigluAlpha ?? 1.702,
  ] as const;
}

/**
 * `out[t, r] = Σ_k x[t, k]·W[r, k] + bias[r]` for bf16, fp32 or MXFP4 weights, optionally fused with SwiGLU.
 * Runs on a worker thread.
 * @example await matmul({ x, tokens: 1, weight: { format: 'bf16', data: w, rows: 5120, cols: 2880 }, bias, out });
 */
export function matmul(p: MatmulParams): Promise<void> {
  return addon().matmul(...matmulArgs(p));
}
export function matmulSync(p: MatmulParams): void {
  addon().matmulSync(...matmulArgs(p));
}

export interface RmsnormParams {
  x: Float32Array;
  tokens: number;
  dim: number;
  scale: SmallVector;
  eps?: number;
  out: Float32Array;
}
function rmsArgs(p: RmsnormParams) {
  need(p.x.length >= p.tokens * p.dim && p.out.length >= p.tokens * p.dim, 'rmsnorm: x/out smaller than tokens x dim');
  need(p.scale.length >= p.dim, 'rmsnorm: scale shorter than dim');
  return [p.x, p.tokens, p.dim, p.scale, dt(p.scale), p.eps ?? 1e-5, p.out] as const;
}
export function rmsnorm(p: RmsnormParams): Promise<void> {
  return addon().rmsnorm(...rmsArgs(p));
}
export function rmsnormSync(p: RmsnormParams): void {
  addon().rmsnormSync(...rmsArgs(p));
}

/** YaRN RoPE parameters (SPEC §1.5.2); defaults are gpt-oss's. */
export interface RopeConfig {
  headDim?: number;
  theta?: number;
  scalingFactor?: number;
  ntkAlpha?: number;
  ntkBeta?: number;
  initialContextLength?: number;
}
export interface RopeParams extends RopeConfig {
  /** Rotated in place: `tokens` rows of `stride` floats, the first `heads * headDim` of each are heads. */
  x: Float32Array;
  tokens: number;
  stride: number;
  heads: number;
  positions: Int32Array;
}
function ropeArgs(p: RopeParams) {
  const hd = p.headDim ?? 64;
  need(p.positions.length >= p.tokens, 'rope: positions shorter than tokens');
  need(p.x.length >= (p.tokens - 1) * p.stride + p.heads * hd, 'rope: x too small');
  return [
    p.x,
    p.tokens,
    p.stride,
    p.heads,
    p.positions,
    hd,
    p.theta ?? 150000,
    p.scalingFactor ?? 32,
    p.ntkAlpha ?? 1,
    p.ntkBeta ?? 32,
    p.initialContextLength ?? 4096,
  ] as const;
}
export function rope(p: RopeParams): Promise<void> {
  return addon().rope(...ropeArgs(p));
}
export function ropeSync(p: RopeParams): void {
  addon().ropeSync(...ropeArgs(p));
}

export interface AttentionParams {
  /** `[tokens, qStride]`, heads of `headDim` (already rotated). */
  q: Float32Array;
  qStride?: number;
  /** KV cache `[positions, kvHeads * headDim]` (K rotated). Query `i` sees keys `0..positions[i]` (or the window). */
  k: Float32Array;
  v: Float32Array;
  positions: Int32Array;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim?: number;
  /** 0 = full causal; else each query sees this many most recent keys including itself. */
  window?: number;
  sinks: SmallVector;
  smScale?: number;
  out: Float32Array;
  outStride?: number;
}
function attnArgs(p: AttentionParams) {
  const hd = p.headDim ?? 64;
  need(p.heads % p.kvHeads === 0, 'attention: heads must be a multiple of kvHeads');
  need(p.sinks.length >= p.heads, 'attention: one sink per head expected');
  return [
    p.q,
    p.qStride ?? p.heads * hd,
    p.k,
    p.v,
    p.positions,
    p.tokens,
    p.heads,
    p.kvHeads,
    hd,
    p.window ?? 0,
    p.sinks,
    dt(p.sinks),
    p.smScale ?? 1 / Math.sqrt(hd),
    p.out,
    p.outStride ?? p.heads * hd,
  ] as const;
}
export function attention(p: AttentionParams): Promise<void> {
  return addon().attention(...attnArgs(p));
}
export function attentionSync(p: AttentionParams): void {
  addon().attentionSync(...attnArgs(p));
}

/** Top-k of router logits (ties → lower expert), then softmax over the k selected. */
export function routerTopkSync(logits: Float32Array, tokens: number, experts: number, k: number) {
  const ids = new Int32Array(tokens * k);
  const weights = new Float32Array(tokens * k);
  need(logits.length >= tokens * experts && k >= 1 && k <= experts, 'routerTopk: bad shapes');
  addon().routerTopkSync(logits, tokens, experts, k, ids, weights);
  return { ids, weights };
}

export interface MoeParams {
  /** Normed input `[tokens, hidden]`. */
  x: Float32Array;
  tokens: number;
  hidden: number;
  intermediate: number;
  experts: number;
  /** `[tokens, topK]` expert ids and routing weights (see {@link routerTopkSync}). */
  ids: Int32Array;
  weights: Float32Array;
  topK: number;
  mlp1Blocks: Uint8Array;
  mlp1Scales: Uint8Array;
  mlp1Bias?: SmallVector | null;
  mlp2Blocks: Uint8Array;
  mlp2Scales: Uint8Array;
  mlp2Bias?: SmallVector | null;
  swigluLimit?: number;
  swigluAlpha?: number;
  /** `[tokens, hidden]`: the weighted expert outputs are ADDED to it (the residual stream). */
  out: Float32Array;
}
function moeArgs(p: MoeParams) {
  need(p.hidden % 32 === 0 && p.intermediate % 32 === 0, 'moe: hidden and intermediate must be multiples of 32');
  return [
    p.x,
    p.tokens,
    p.hidden,
    p.intermediate,
    p.ids,
    p.weights,
    p.topK,
    p.experts,
    p.mlp1Blocks,
    p.mlp1Scales,
    p.mlp1Bias ?? null,
    dt(p.mlp1Bias),
    p.mlp2Blocks,
    p.mlp2Scales,
    p.mlp2Bias ?? null,
    dt(p.mlp2Bias),
    p.swigluLimit ?? 7,
    p.swigluAlpha ?? 1.702,
    p.out,
  ] as const;
}
/** The MoE block: tokens grouped by expert, MXFP4 mlp1 + bias + SwiGLU, mlp2 + bias, weighted sum into `out`. */
export function moe(p: MoeParams): Promise<void> {
  return addon().moe(...moeArgs(p));
}
export function moeSync(p: MoeParams): void {
  addon().moeSync(...moeArgs(p));
}

export interface UnembedParams {
  /** Final-normed hidden states `[tokens, dim]`. */
  x: Float32Array;
  tokens: number;
  dim: number;
  /** bf16 `[rows, dim]` (the unembedding). */
  weight: Uint16Array | Uint8Array;
  rows: number;
  /** How many best rows to return per token (1 = greedy). */
  k?: number;
  /** Also write the full logits `[tokens, rows]` here (only when asked: 201088 floats per token). */
  logits?: Float32Array | null;
}
function unembedArgs(p: UnembedParams, ids: Int32Array | null, vals: Float32Array | null) {
  need(p.x.length >= p.tokens * p.dim, 'unembedTopk: x too small');
  return [p.x, p.tokens, p.dim, p.weight, p.rows, p.k ?? 1, p.logits ?? null, ids, vals] as const;
}
/** Unembedding fused with top-k: returns the `k` best ids/logits per token, sorted (ties → lower id). */
export async function unembedTopk(p: UnembedParams): Promise<{ ids: Int32Array; values: Float32Array }> {
  const k = p.k ?? 1;
  const ids = new Int32Array(p.tokens * k);
  const values = new Float32Array(p.tokens * k);
  await addon().unembedTopk(...unembedArgs(p, ids, values));
  return { ids, values };
}
export function unembedTopkSync(p: UnembedParams): { ids: Int32Array; values: Float32Array } {
  const k = p.k ?? 1;
  const ids = new Int32Array(p.tokens * k);
  const values = new Float32Array(p.tokens * k);
  addon().unembedTopkSync(...unembedArgs(p, ids, values));
  return { ids, values };
}

/** Gathers bf16 rows of `table` `[*, dim]` into fp32 `out` `[ids.length, dim]`. */
export function embedSync(table: Uint16Array | Uint8Array, dim: number, ids: Int32Array, out: Float32Array): void {
  need(out.length >= ids.length * dim, 'embed: out too small');
  addon().embedSync(table, dim, ids, ids.length, out);
}
