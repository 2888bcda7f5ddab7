import { KernelShapeError } from '../errors.js';
import type { BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { BF16_HELPERS } from '../wgsl.js';
import { SMAT_DIRECTIVES, SMAT_ENABLES, smatMainParams, SMAT_TILE_N, smatDecls, smatMain, storeHalves } from './smat.js';
import { denseBindings, type GemvArgs, type GemvBf16Options } from './gemv-bf16.js';

/** Output rows and tokens per workgroup; each of the 256 invocations accumulates 4 rows × 2 tokens. */
const TILE_N = 64;
const TILE_M = 32;

/**
 * Tiled bf16 GEMM for prefill, same contract as gemvBf16 (fused RMSNorm prologue, bias, residual add, optional write
 * of the normalised rows) but for any number of tokens: a workgroup computes a 64-row × 32-token block, and for each
 * 32-wide step of K it loads the weight tile once into workgroup memory (widened to f32) and uses it for all 32 tokens,
 * where the GEMV re-reads the whole matrix for every 8 tokens (one dispatch each). GPU shape only; K a multiple of 32.
 */
export function gemmBf16Program(
  caps: GpuCaps,
  o: Omit<GemvBf16Options, 'M'> & {
    subgroupMatrix?: boolean;
    /** Subgroup-matrix form: tokens per tile, 32 (default) or 64 (long prefill chunks: fewer weight-tile loads). */
    tileTokens?: number;
  },
): KernelProgram {
  const { K } = o;
  if (K % 32 !== 0) throw new KernelShapeError(`gemmBf16: K must be a multiple of 32, got ${K}`);
  if (caps.cpuLike) throw new KernelShapeError('gemmBf16: GPU shape only (use gemvBf16 on CPU rasterisers)');
  if (o.subgroupMatrix) return smatProgram(caps, o);
  const norm = !!o.norm;
  const wn = !!(o.writeNormed && norm);
  const bindings = denseBindings(o);
  const K4 = K / 4;
  const K8 = K / 8;
  return {
    name: 'gemm_bf16',
    cacheKey: `gemm_bf16:K${K}:n${+norm}b${+!!o.bias}r${+!!o.residual}w${+wn}`,
    bindings,
    params: PARAMS,
    meta: { tileN: TILE_N, tileM: TILE_M },
    body: () => /* wgsl */ `
${BF16_HELPERS}
var<workgroup> ws: array<vec4f, ${(32 * TILE_N) / 4}>;
var<workgroup> xs: array<vec2f, ${(32 * TILE_M) / 2}>;
${
  norm
    ? `var<workgroup> ss: array<f32, 256>;
var<workgroup> inv_rms: array<f32, ${TILE_M}>;`
    : ''
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let n0 = wid.x * ${TILE_N}u;
  let m0 = wid.y * ${TILE_M}u;
  ${norm ? normPrologue(TILE_M, K) : ''}
  ${wn ? writeNormed(TILE_M, K) : ''}
  // Weight-load role: one row and 8 consecutive K values; input-load role: one token and 4 K values.
  let drow = lid & ${TILE_N - 1}u;
  let dq = lid >> 6u;
  let wbase = min(n0 + drow, p.rows - 1u) * ${K8}u;
  let ltok = lid & 31u;
  let lk = lid >> 5u;
  let xbase = (p.xRow0 + min(m0 + ltok, p.tokens - 1u)) * ${K4}u;
  ${norm ? 'let xscale = inv_rms[ltok];' : ''}
  // Compute role: rows 4tr..4tr+3, tokens 2tp, 2tp+1.
  let tr = lid & 15u;
  let tp = lid >> 4u;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  for (var g = 0u; g < ${K / 32}u; g++) {
    let wv = w[wbase + 4u * g + dq];
    let xv = x[xbase + 8u * g + lk]${norm ? ' * gain[8u * g + lk] * xscale' : ''};
    workgroupBarrier();
    let lo = bf8lo(wv);
    let hi = bf8hi(wv);
    for (var i = 0u; i < 4u; i++) {
      ws[(8u * dq + i) * 16u + (drow >> 2u)][drow & 3u] = lo[i];
      ws[(8u * dq + 4u + i) * 16u + (drow >> 2u)][drow & 3u] = hi[i];
      xs[(4u * lk + i) * 16u + (ltok >> 1u)][ltok & 1u] = xv[i];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      let wt = ws[kk * 16u + tr];
      let xt = xs[kk * 16u + tp];
      a0 = fma(wt, vec4f(xt.x), a0);
      a1 = fma(wt, vec4f(xt.y), a1);
    }
  }
  for (var u = 0u; u < 2u; u++) {
    let m = m0 + 2u * tp + u;
    if (m >= p.tokens) { continue; }
    let a = select(a0, a1, u == 1u);
    for (var j = 0u; j < 4u; j++) {
      let row = n0 + 4u * tr + j;
      if (row < p.rows) {
        var v = a[j];
        ${o.bias ? 'v += bias[p.biasOffset + row];' : ''}
        let oi = m * p.outStride + p.outOffset + row;
        ${o.residual ? 'out[oi] += v;' : 'out[oi] = v;'}
      }
    }
  }
}`,
  };
}

const PARAMS = [
  ['rows', 'u32'],
  ['tokens', 'u32'],
  ['biasOffset', 'u32'],
  ['outOffset', 'u32'],
  ['outStride', 'u32'],
  ['xRow0', 'u32'],
  ['eps', 'f32'],
] as const;

/** Records one dispatch per weight part for `tokens` rows of x starting at xRow0 (output rows from outRow0). */
export function gemmBf16(rec: StepRecorder, program: KernelProgram, a: GemvArgs & { tokens: number }): void {
  for (const part of a.parts) {
    const bufs: BufferRef[] = [part.buffer, a.x];
    if (a.gain) bufs.push(a.gain);
    if (a.bias) bufs.push(a.bias);
    bufs.push(a.out);
    if (program.bindings[program.bindings.length - 1].name === 'xnOut') {
      if (!a.xnOut) throw new KernelShapeError(`${program.name}: this program writes normalised rows; pass xnOut`);
      bufs.push(a.xnOut);
    }
    rec.dispatch(
      program,
      bufs,
      {
        rows: part.rows,
        tokens: a.tokens,
        biasOffset: part.rowStart,
        outOffset: (a.outRow0 ?? 0) * a.outStride + part.rowStart,
        outStride: a.outStride,
        xRow0: a.xRow0 ?? 0,
        eps: a.eps ?? 1e-5,
      },
      [Math.ceil(part.rows / (program.meta?.tileN ?? TILE_N)), Math.ceil(a.tokens / (program.meta?.tileM ?? TILE_M))],
    );
  }
}


/**
 * The same GEMM on subgroup matrices (tensor cores; kernels/smat.ts): a workgroup computes 128 rows × 64 tokens, the
 * bf16 weights and the (normalised) inputs rounded to f16 in workgroup memory, f32 accumulation. f16 holds every bf16
 * weight of magnitude 2^-14..65504 to bf16's precision; smaller ones lose bits (subnormal) — the fast path's 2e-2
 * tolerance class, like the other f16 kernels.
 */
function smatProgram(caps: GpuCaps, o: Omit<GemvBf16Options, 'M'> & { tileTokens?: number }): KernelProgram {
  const { K } = o;
  const norm = !!o.norm;
  const wn = !!(o.writeNormed && norm);
  const bindings = denseBindings(o);
  const K4 = K / 4;
  const K8 = K / 8;
  const TM = o.tileTokens ?? 32;
  const VA = TM / 32; // vec4f of input per invocation and K step
  const gx = (j: number) => `${VA}u * aq + ${j}u`;
  const main = smatMain(caps, {
    TM,
    steps: `${K / 32}u`,
    // Inputs: token lid % TM of the tile (consecutive lanes, consecutive tokens), 4·TM/32 K values per invocation.
    loadA: Array.from(
      { length: VA },
      (_, j) => `let xv${j} = x[xbase + 8u * g + ${gx(j)}]${norm ? ` * gain[8u * g + ${gx(j)}] * xscale` : ''};`,
    ).join('\n    '),
    storeA: storeHalves('xa', 'SA', 'am', Array.from({ length: VA }, (_, j) => [`xv${j}`, `4u * (${gx(j)})`] as const)),
    // Weights: row lid % 128 of the tile, 16 consecutive bf16 (two vec4<u32>) per invocation.
    loadB: `let wv0 = w[wbase + 4u * g + 2u * bh];
    let wv1 = w[wbase + 4u * g + 2u * bh + 1u];`,
    storeB: `{
        ${storeHalves('wb', 'SB', 'br', [
          ['bf8lo(wv0)', '16u * bh'],
          ['bf8hi(wv0)', '16u * bh + 4u'],
          ['bf8lo(wv1)', '16u * bh + 8u'],
          ['bf8hi(wv1)', '16u * bh + 12u'],
        ])}
      }`,
    epilogue: `{
      let row = n0 + n;
      let tok = m0 + m;
      if (row < p.rows && tok < p.tokens) {
        var r = v;
        ${o.bias ? 'r += bias[p.biasOffset + row];' : ''}
        let oi = tok * p.outStride + p.outOffset + row;
        ${o.residual ? 'out[oi] += r;' : 'out[oi] = r;'}
      }
    }`,
  });
  return {
    name: 'gemm_bf16_smat',
    cacheKey: `gemm_bf16_smat:TM${TM}:K${K}:n${+norm}b${+!!o.bias}r${+!!o.residual}w${+wn}:${JSON.stringify(caps.subgroupMatrixShape)}:${caps.subgroupMatrixUniformity}`,
    bindings,
    params: PARAMS,
    enables: SMAT_ENABLES,
    directives: SMAT_DIRECTIVES,
    meta: { tileN: SMAT_TILE_N, tileM: TM },
    body: () => /* wgsl */ `
${BF16_HELPERS}
${smatDecls(caps, TM)}
${
  norm
    ? `var<workgroup> ss: array<f32, 256>;
var<workgroup> inv_rms: array<f32, ${TM}>;`
    : ''
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, ${smatMainParams(caps)}) {
  let n0 = wid.x * ${SMAT_TILE_N}u;
  let m0 = wid.y * ${TM}u;
  ${norm ? normPrologue(TM, K) : ''}
  ${wn ? writeNormed(TM, K) : ''}
  let am = lid % ${TM}u;
  let aq = lid / ${TM}u;
  let xbase = (p.xRow0 + min(m0 + am, p.tokens - 1u)) * ${K4}u;
  ${norm ? 'let xscale = inv_rms[am];' : ''}
  let br = lid & 127u;
  let bh = lid >> 7u;
  let wbase = min(n0 + br, p.rows - 1u) * ${K8}u;
  ${main}
}`,
  };
}

/**
 * RMSNorm statistics of the TM tokens of a tile: 256/TM invocations per token sum squares over K, then
 * `inv_rms[t]` = 1/sqrt(mean + eps). Needs `ss` (256 f32) and `inv_rms` (TM f32) in workgroup memory.
 */
function normPrologue(TM: number, K: number): string {
  const L = 256 / TM;
  return /* wgsl */ `{
    let t = lid / ${L}u;
    let xb = (p.xRow0 + min(m0 + t, p.tokens - 1u)) * ${K / 4}u;
    var a = 0.0;
    for (var c = lid % ${L}u; c < ${K / 4}u; c += ${L}u) { let v = x[xb + c]; a += dot(v, v); }
    ss[lid] = a;
  }
  workgroupBarrier();
  if (lid < ${TM}u) {
    var t = 0.0;
    for (var i = 0u; i < ${L}u; i++) { t += ss[lid * ${L}u + i]; }
    inv_rms[lid] = inverseSqrt(t / ${K}.0 + p.eps);
  }
  workgroupBarrier();`;
}

/** The first row-tile's workgroups write the normalised input rows of their tokens (the router's MoE input). */
function writeNormed(TM: number, K: number): string {
  const K4 = K / 4;
  return /* wgsl */ `if (wid.x == 0u) {
    for (var i = lid; i < ${TM * K4}u; i += 256u) {
      let t = i / ${K4}u;
      let c = i % ${K4}u;
      if (m0 + t < p.tokens) {
        let xi = (p.xRow0 + m0 + t) * ${K4}u + c;
        xnOut[xi] = x[xi] * gain[c] * inv_rms[t];
      }
    }
  }`;
}
