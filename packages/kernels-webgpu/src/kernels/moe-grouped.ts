import { KernelShapeError } from '../errors.js';
import type { BindingDecl, BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { enables, groupReduce, MXFP4_F16_HELPERS, MXFP4_HELPERS, partLoader, routePrologue } from '../wgsl.js';
import { checkMoeShape, type MoeShape } from './moe-mlp1.js';
import { SMAT_DIRECTIVES, SMAT_ENABLES, smatMainParams, SMAT_TILE_N, smatDecls, smatMain, storeHalves } from './smat.js';

/**
 * Prefill MoE grouped by expert: one workgroup column per expert instead of one per (token, slot), so each expert's
 * MXFP4 rows are loaded into registers once per chunk and reused for every token of the chunk that selected it
 * (the per-token kernels re-read them for each token). Three dispatches per layer:
 *   mlp1: act[t, slot] = SwiGLU(W1[e]·xn[t] + b1[e]) for the tokens routed to e,
 *   mlp2: y[t, slot] = W2[e]·act[t, slot] + b2[e] (unweighted),
 *   combine: x[t] += Σ_slot w_slot·y[t, slot].
 * The token list of an expert is built in each workgroup's prologue from the router logits (a token picks e when
 * fewer than k experts beat it, lower index winning ties, as in the decode kernels). GPU shape only: CPU rasterisers
 * keep the per-token kernels.
 */

/** Tokens per dispatch at most (workgroup list size); the model passes its prefill chunk. */
function tokenList(E: number, k: number, maxTokens: number): string {
  return /* wgsl */ `
var<workgroup> lst: array<u32, ${maxTokens}>;
var<workgroup> cnt: atomic<u32>;
var<workgroup> cntU: u32;
fn buildList(lid: u32, e: u32) -> u32 {
  if (lid == 0u) { atomicStore(&cnt, 0u); }
  workgroupBarrier();
  for (var t = lid; t < p.tokens; t += 256u) {
    let lb = (p.xRow0 + t) * ${E}u;
    let v = logits[lb + e];
    var rank = 0u;
    for (var j = 0u; j < ${E}u; j++) {
      let u = logits[lb + j];
      rank += select(0u, 1u, u > v || (u == v && j < e));
    }
    if (rank < ${k}u) { lst[atomicAdd(&cnt, 1u)] = t * ${k}u + rank; }
  }
  workgroupBarrier();
  if (lid == 0u) { cntU = atomicLoad(&cnt); }
  return workgroupUniformLoad(&cntU);
}`;
}

function blockLoads(
  lines: string[],
  R: number,
  NB: number,
  GB: number,
  rowExpr: (r: number) => string,
  okExtra = '',
): void {
  for (let j = 0; j < NB; j++) {
    const partial = 32 * (j + 1) > GB;
    lines.push(`let g${j} = ${partial ? `min(lane + ${32 * j}u, ${GB - 1}u)` : `lane + ${32 * j}u`};`);
    for (let r = 0; r < R; r++) lines.push(`let w${r}_${j} = loadBlock(part, (lbase + ${rowExpr(r)}) * ${GB}u + g${j});`);
  }
  for (let j = 0; j < NB; j++) {
    const partial = 32 * (j + 1) > GB;
    const conds = [partial ? `lane + ${32 * j}u < ${GB}u` : '', okExtra].filter(Boolean);
    for (let r = 0; r < R; r++) {
      const sc = `scaleAt((sbase + ${rowExpr(r)}) * ${GB}u + g${j})`;
      lines.push(`let s${r}_${j} = ${conds.length ? `select(0.0, ${sc}, ${conds.join(' && ')})` : sc};`);
    }
  }
}

/**
 * Dot products of R register-resident rows with TT tokens' inputs: each weight word is decoded once and used for
 * every token of the group (prefill is bound by the decode arithmetic, not by the loads, once weights are reused).
 * Accumulator a{r}_{u} ends in acc[u * R + r].
 */
function dotLines(caps: GpuCaps, lines: string[], R: number, TT: number, NB: number, src: string, base: (u: number) => string): void {
  for (let u = 0; u < TT; u++) for (let r = 0; r < R; r++) lines.push(`var a${r}_${u} = 0.0;`);
  const comps = ['x', 'y', 'z', 'w'];
  for (let j = 0; j < NB; j++) {
    lines.push('{');
    for (let u = 0; u < TT; u++) {
      lines.push(`let xb${u} = ${base(u)} + 8u * g${j};`);
      if (caps.f16) {
        for (let q = 0; q < 4; q++) lines.push(`let h${q}_${u} = x8h(${src}[xb${u} + ${2 * q}u], ${src}[xb${u} + ${2 * q + 1}u]);`);
      } else {
        for (let q = 0; q < 8; q++) lines.push(`let x${q}_${u} = ${src}[xb${u} + ${q}u];`);
      }
    }
    for (let r = 0; r < R; r++) {
      lines.push('{');
      for (let c = 0; c < 4; c++) {
        const w = `w${r}_${j}.${comps[c]}`;
        if (caps.f16) {
          lines.push(`let d${c} = fp4pairs(${w});`);
        } else {
          lines.push(`let dl${c} = fp4lo(${w});`, `let dh${c} = fp4hi(${w});`);
        }
      }
      for (let u = 0; u < TT; u++) {
        const terms = [0, 1, 2, 3].map((c) =>
          caps.f16 ? `dot4h(d${c}, h${c}_${u})` : `dot(dl${c}, x${2 * c}_${u}) + dot(dh${c}, x${2 * c + 1}_${u})`,
        );
        lines.push(`a${r}_${u} += s${r}_${j} * (${terms.join(' + ')});`);
      }
      lines.push('}');
    }
    lines.push('}');
  }
  lines.push(`var acc: array<f32, ${R * TT}>;`);
  for (let u = 0; u < TT; u++) for (let r = 0; r < R; r++) lines.push(`acc[${u * R + r}] = a${r}_${u};`);
}

const DECODE_ONCE = /* wgsl */ `
fn fp4lo(w: u32) -> vec4f { return vec4f(fp4x2(w), fp4x2(w >> 4u), fp4x2(w >> 8u), fp4x2(w >> 12u)); }
fn fp4hi(w: u32) -> vec4f { return vec4f(fp4x2(w >> 16u), fp4x2(w >> 20u), fp4x2(w >> 24u), fp4x2(w >> 28u)); }
`;
const DECODE_ONCE_F16 = /* wgsl */ `
fn fp4pairs(w: u32) -> array<vec2<f16>, 4> {
  let a = w & 0x77777777u;
  let s = w & 0x88888888u;
  return array<vec2<f16>, 4>(
    fp4h(((a << 9u) & 0x0E000E00u) | ((s << 12u) & 0x80008000u)),
    fp4h(((a << 5u) & 0x0E000E00u) | ((s << 8u) & 0x80008000u)),
    fp4h(((a << 1u) & 0x0E000E00u) | ((s << 4u) & 0x80008000u)),
    fp4h(((a >> 3u) & 0x0E000E00u) | (s & 0x80008000u)));
}
fn dot4h(d: array<vec2<f16>, 4>, x: array<vec2<f16>, 4>) -> f32 {
  var acc = d[0] * x[0];
  acc = fma(d[1], x[1], acc);
  acc = fma(d[2], x[2], acc);
  acc = fma(d[3], x[3], acc);
  return f32(acc.x) + f32(acc.y);
}
`;

function blockBindings(P: number): BindingDecl[] {
  const b: BindingDecl[] = [];
  for (let i = 0; i < P; i++) b.push({ name: `blocks${i}`, type: 'array<vec4<u32>>', access: 'read' });
  b.push({ name: 'scales', type: 'array<u32>', access: 'read' }, { name: 'bias', type: 'array<f32>', access: 'read' });
  return b;
}

/** Row pairs (mlp1) / rows (mlp2) per 32-invocation group, and tokens per pass over the registers. */
const MLP1_PAIRS = 2;
const MLP2_ROWS = 4;
const TT = 4;

export interface MoeGroupedOptions {
  /** Weight tiles decoded once into workgroup memory and shared by up to 32 tokens (tiledProgram). */
  tiled?: boolean;
  /** The tiled kernels on subgroup matrices (tensor cores; smatProgram). Implies tiled. */
  subgroupMatrix?: boolean;
  /** Subgroup-matrix form: tokens per tile, 32 (default) or 64 (when experts average ≥ 48 tokens per pass). */
  tileTokens?: number;
}

export function moeGroupedMlp1Program(caps: GpuCaps, s: MoeShape, maxTokens: number, o: MoeGroupedOptions = {}): KernelProgram {
  if (o.subgroupMatrix) return smatProgram(caps, s, maxTokens, 'mlp1', o.tileTokens);
  if (o.tiled) return tiledProgram(caps, s, maxTokens, 'mlp1');
  const P = checkMoeShape(s);
  if (caps.cpuLike) throw new KernelShapeError('moeGroupedMlp1: GPU shape only (use moeMlp1 on CPU rasterisers)');
  const { H, I, E, k } = s;
  const GB = H / 32;
  const NB = Math.ceil(GB / 32);
  const RP = MLP1_PAIRS;
  const R = 2 * RP;
  const pre: string[] = [];
  for (let r = 0; r < R; r++) pre.push(`let row${r} = 2u * min(i0 + ${r >> 1}u, ${I - 1}u) + ${r & 1}u;`);
  blockLoads(pre, R, NB, GB, (r) => `row${r}`);
  const body: string[] = [];
  for (let u = 0; u < TT; u++) body.push(`let ts${u} = lst[min(q0 + ${u}u, n - 1u)];`);
  dotLines(caps, body, R, TT, NB, 'xn', (u) => `(p.xRow0 + ts${u} / ${k}u) * ${H / 4}u`);
  const outs: string[] = [];
  for (let u = 0; u < TT; u++) {
    let ga = `acc[${u * R}]`;
    let la = `acc[${u * R + 1}]`;
    for (let q = 1; q < RP; q++) {
      ga = `select(${ga}, acc[${u * R + 2 * q}], lane == ${q}u)`;
      la = `select(${la}, acc[${u * R + 2 * q + 1}], lane == ${q}u)`;
    }
    outs.push(`if (q0 + ${u}u < n) {
          let gate = min(${ga} + bias[rowG], p.limit);
          let lin = clamp(${la} + bias[rowG + 1u], -p.limit, p.limit);
          act[ts${u} * ${I}u + i] = gate / (1.0 + exp(-p.alpha * gate)) * (lin + 1.0);
        }`);
  }
  const bindings = blockBindings(P);
  bindings.push(
    { name: 'xn', type: 'array<vec4f>', access: 'read' },
    { name: 'logits', type: 'array<f32>', access: 'read' },
    { name: 'act', type: 'array<f32>', access: 'read_write' },
  );
  return {
    name: 'moe_grouped_mlp1',
    cacheKey: `moe_grouped_mlp1:TT${TT}:RP${RP}:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}:h${+caps.f16}:T${maxTokens}`,
    bindings,
    enables: enables(caps, true),
    params: [
      ['tokens', 'u32'],
      ['xRow0', 'u32'],
      ['limit', 'f32'],
      ['alpha', 'f32'],
    ],
    meta: { pairsPerWorkgroup: 8 * RP, maxTokens },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${caps.f16 ? MXFP4_F16_HELPERS + DECODE_ONCE_F16 : DECODE_ONCE}
${partLoader(P)}
${tokenList(E, k, maxTokens)}
${groupReduce(caps, 'pair_sum', R * TT, 32, 'add')}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let e = wid.y;
  let n = buildList(lid, e);
  if (n == 0u) { return; }
  let part = e / ${s.expertsPerPart}u;
  let lbase = (e % ${s.expertsPerPart}u) * ${2 * I}u;
  let sbase = e * ${2 * I}u;
  let lane = lid & 31u;
  let i0 = (wid.x * 8u + (lid >> 5u)) * ${RP}u;
  ${pre.join('\n  ')}
  for (var q0 = 0u; q0 < n; q0 += ${TT}u) {
    ${body.join('\n    ')}
    pair_sum(&acc, lid);
    if (lane < ${RP}u) {
      let i = i0 + lane;
      if (i < ${I}u) {
        let rowG = e * ${2 * I}u + 2u * i;
        ${outs.join('\n        ')}
      }
    }
  }
}`,
  };
}

export function moeGroupedMlp2Program(caps: GpuCaps, s: MoeShape, maxTokens: number, o: MoeGroupedOptions = {}): KernelProgram {
  if (o.subgroupMatrix) return smatProgram(caps, s, maxTokens, 'mlp2', o.tileTokens);
  if (o.tiled) return tiledProgram(caps, s, maxTokens, 'mlp2');
  const P = checkMoeShape(s);
  if (caps.cpuLike) throw new KernelShapeError('moeGroupedMlp2: GPU shape only (use moeMlp2 on CPU rasterisers)');
  const { H, I, E, k } = s;
  const GI = I / 32;
  const NB = Math.ceil(GI / 32);
  const RH = MLP2_ROWS;
  const pre: string[] = [];
  for (let r = 0; r < RH; r++) pre.push(`let hh${r} = min(h0 + ${r}u, ${H - 1}u);`);
  blockLoads(pre, RH, NB, GI, (r) => `hh${r}`);
  const body: string[] = [];
  for (let u = 0; u < TT; u++) body.push(`let ts${u} = lst[min(q0 + ${u}u, n - 1u)];`);
  dotLines(caps, body, RH, TT, NB, 'act', (u) => `ts${u} * ${I / 4}u`);
  const outs: string[] = [];
  for (let u = 0; u < TT; u++) {
    let out = `acc[${u * RH}]`;
    for (let r = 1; r < RH; r++) out = `select(${out}, acc[${u * RH + r}], lane == ${r}u)`;
    outs.push(`if (q0 + ${u}u < n) { y[ts${u} * ${H}u + h] = ${out} + bias[e * ${H}u + h]; }`);
  }
  const bindings = blockBindings(P);
  bindings.push(
    { name: 'act', type: 'array<vec4f>', access: 'read' },
    { name: 'logits', type: 'array<f32>', access: 'read' },
    { name: 'y', type: 'array<f32>', access: 'read_write' },
  );
  return {
    name: 'moe_grouped_mlp2',
    cacheKey: `moe_grouped_mlp2:TT${TT}:RH${RH}:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}:h${+caps.f16}:T${maxTokens}`,
    bindings,
    enables: enables(caps, true),
    params: [
      ['tokens', 'u32'],
      ['xRow0', 'u32'],
    ],
    meta: { rowsPerWorkgroup: 8 * RH, maxTokens },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${caps.f16 ? MXFP4_F16_HELPERS + DECODE_ONCE_F16 : DECODE_ONCE}
${partLoader(P)}
${tokenList(E, k, maxTokens)}
${groupReduce(caps, 'row_sum', RH * TT, 32, 'add')}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let e = wid.y;
  let n = buildList(lid, e);
  if (n == 0u) { return; }
  let part = e / ${s.expertsPerPart}u;
  let lbase = (e % ${s.expertsPerPart}u) * ${H}u;
  let sbase = e * ${H}u;
  let lane = lid & 31u;
  let h0 = (wid.x * 8u + (lid >> 5u)) * ${RH}u;
  ${pre.join('\n  ')}
  for (var q0 = 0u; q0 < n; q0 += ${TT}u) {
    ${body.join('\n    ')}
    row_sum(&acc, lid);
    if (lane < ${RH}u) {
      let h = h0 + lane;
      if (h < ${H}u) {
        ${outs.join('\n        ')}
      }
    }
  }
}`,
  };
}

/** x[t] += Σ_slot w_slot·y[t, slot]: one workgroup per token, the router's softmax weights from its prologue. */
export function moeCombineProgram(s: MoeShape): KernelProgram {
  const { H, E, k } = s;
  return {
    name: 'moe_combine',
    cacheKey: `moe_combine:H${H}:E${E}:k${k}`,
    bindings: [
      { name: 'y', type: 'array<f32>', access: 'read' },
      { name: 'logits', type: 'array<f32>', access: 'read' },
      { name: 'x', type: 'array<f32>', access: 'read_write' },
    ],
    params: [['xRow0', 'u32']],
    body: () => /* wgsl */ `
${routePrologue(E, k)}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = wid.x;
  let xrow = p.xRow0 + tok;
  route(lid, xrow);
  for (var h = lid; h < ${H}u; h += 256u) {
    var v = 0.0;
    for (var q = 0u; q < ${k}u; q++) { v += selw[q] * y[(tok * ${k}u + q) * ${H}u + h]; }
    x[xrow * ${H}u + h] += v;
  }
}`,
  };
}

export interface MoeGroupedArgs {
  blocks1: readonly GPUBuffer[];
  scales1: BufferRef;
  bias1: BufferRef;
  blocks2: readonly GPUBuffer[];
  scales2: BufferRef;
  bias2: BufferRef;
  /** Router logits f32 [rows of x, E]. */
  logits: BufferRef;
  /** RMS-normalised input rows (f32, H wide). */
  xn: BufferRef;
  /** Scratch: f32 [tokens·k, I] and [tokens·k, H]. */
  act: BufferRef;
  y: BufferRef;
  /** Residual stream, updated in place. */
  x: BufferRef;
  tokens: number;
  xRow0?: number;
  limit: number;
}

/** Records the grouped MoE (3 dispatches) for `tokens` rows of x starting at xRow0. */
export function moeGrouped(
  rec: StepRecorder,
  progs: { mlp1: KernelProgram; mlp2: KernelProgram; combine: KernelProgram },
  s: MoeShape,
  a: MoeGroupedArgs,
): void {
  const maxT = progs.mlp1.meta?.maxTokens ?? 0;
  if (a.tokens > maxT || a.tokens > (progs.mlp2.meta?.maxTokens ?? 0)) {
    throw new KernelShapeError(`moeGrouped: ${a.tokens} tokens, programs built for at most ${maxT}`);
  }
  const xRow0 = a.xRow0 ?? 0;
  rec.dispatch(
    progs.mlp1,
    [...a.blocks1, a.scales1, a.bias1, a.xn, a.logits, a.act],
    { tokens: a.tokens, xRow0, limit: a.limit, alpha: 1.702 },
    [Math.ceil(s.I / progs.mlp1.meta!.pairsPerWorkgroup), s.E],
  );
  rec.dispatch(
    progs.mlp2,
    [...a.blocks2, a.scales2, a.bias2, a.act, a.logits, a.y],
    { tokens: a.tokens, xRow0 },
    [Math.ceil(s.H / progs.mlp2.meta!.rowsPerWorkgroup), s.E],
  );
  rec.dispatch(progs.combine, [a.y, a.logits, a.x], { xRow0 }, a.tokens);
}

/** Shape facts and bindings shared by the tiled and subgroup-matrix grouped kernels (GPU shapes only). */
function tileShape(caps: GpuCaps, s: MoeShape, which: 'mlp1' | 'mlp2') {
  const P = checkMoeShape(s);
  if (caps.cpuLike) throw new KernelShapeError(`moeGrouped ${which}: GPU shape only`);
  const { H, I, E, k } = s;
  const K = which === 'mlp1' ? H : I;
  const src = which === 'mlp1' ? 'xn' : 'act';
  const bindings = blockBindings(P);
  bindings.push(
    { name: src, type: 'array<vec4f>', access: 'read' },
    { name: 'logits', type: 'array<f32>', access: 'read' },
    { name: which === 'mlp1' ? 'act' : 'y', type: 'array<f32>', access: 'read_write' },
  );
  return { P, H, I, E, k, N: which === 'mlp1' ? 2 * I : H, K, GB: K / 32, src, bindings };
}

/** Tiled grouped kernels: output rows per workgroup and tokens per tile (each invocation: 4 rows × 2 tokens). */
const TILE_N = 64;
const TILE_M = 32;

/**
 * Tiled form of the grouped expert kernels (a small GEMM per expert): for each MXFP4 block column (32 values of K),
 * the workgroup decodes the 64×32 weight tile ONCE into workgroup memory (f32, scale applied) and multiplies it with
 * a 32-token tile of the expert's inputs, 4 rows × 2 tokens of register accumulators per invocation. The per-token and
 * register-resident grouped kernels decode every weight for each token (or each 4 tokens); here a decoded weight
 * serves every token of the tile. Same bindings, parameters and dispatch grid as the untiled grouped kernels.
 */
function tiledProgram(caps: GpuCaps, s: MoeShape, maxTokens: number, which: 'mlp1' | 'mlp2'): KernelProgram {
  const { P, H, I, E, k, N, K, GB, src, bindings } = tileShape(caps, s, which);
  const srcRow = which === 'mlp1' ? `(p.xRow0 + ts / ${k}u) * ${K / 4}u` : `ts * ${K / 4}u`;
  const epilogue =
    which === 'mlp1'
      ? /* wgsl */ `
      for (var j = 0u; j < 2u; j++) {
        let i = n0 / 2u + 2u * tr + j;
        if (i < ${I}u) {
          let rowG = e * ${2 * I}u + 2u * i;
          let g = min(select(a.x, a.z, j == 1u) + bias[rowG], p.limit);
          let l = clamp(select(a.y, a.w, j == 1u) + bias[rowG + 1u], -p.limit, p.limit);
          act[ts * ${I}u + i] = g / (1.0 + exp(-p.alpha * g)) * (l + 1.0);
        }
      }`
      : /* wgsl */ `
      for (var j = 0u; j < 4u; j++) {
        let h = n0 + 4u * tr + j;
        if (h < ${H}u) { y[ts * ${H}u + h] = a[j] + bias[e * ${H}u + h]; }
      }`;
  return {
    name: `moe_tiled_${which}`,
    cacheKey: `moe_tiled_${which}:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:T${maxTokens}`,
    bindings,
    params:
      which === 'mlp1'
        ? [
            ['tokens', 'u32'],
            ['xRow0', 'u32'],
            ['limit', 'f32'],
            ['alpha', 'f32'],
          ]
        : [
            ['tokens', 'u32'],
            ['xRow0', 'u32'],
          ],
    meta: which === 'mlp1' ? { pairsPerWorkgroup: TILE_N / 2, maxTokens } : { rowsPerWorkgroup: TILE_N, maxTokens },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${partLoader(P)}
${tokenList(E, k, maxTokens)}
// ws[kk * 16 + q]: rows 4q..4q+3 of the tile at K offset kk; xs[kk * 16 + q]: tokens 2q, 2q+1.
var<workgroup> ws: array<vec4f, ${(32 * TILE_N) / 4}>;
var<workgroup> xs: array<vec2f, ${(32 * TILE_M) / 2}>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let e = wid.y;
  let n = buildList(lid, e);
  if (n == 0u) { return; }
  let part = e / ${s.expertsPerPart}u;
  let n0 = wid.x * ${TILE_N}u;
  // Decode role: one row and one u32 word (8 values) of the block per invocation.
  let drow = lid & ${TILE_N - 1}u;
  let dword = lid >> 6u;
  let rowc = min(n0 + drow, ${N - 1}u);
  let wbase = ((e % ${s.expertsPerPart}u) * ${N}u + rowc) * ${GB}u;
  let sbase = (e * ${N}u + rowc) * ${GB}u;
  // Input-load role: one token and 4 consecutive K values per invocation.
  let ltok = lid & 31u;
  let lk = lid >> 5u;
  // Compute role: rows 4tr..4tr+3, tokens 2tp, 2tp+1.
  let tr = lid & 15u;
  let tp = lid >> 4u;
  for (var q0 = 0u; q0 < n; q0 += ${TILE_M}u) {
    let ts = lst[min(q0 + ltok, n - 1u)];
    let xbase = ${srcRow};
    var a0 = vec4f(0.0);
    var a1 = vec4f(0.0);
    for (var g = 0u; g < ${GB}u; g++) {
      let wv = loadBlock(part, wbase + g)[dword];
      let sc = scaleAt(sbase + g);
      let xv = ${src}[xbase + 8u * g + lk];
      workgroupBarrier();
      for (var i = 0u; i < 8u; i++) {
        ws[(8u * dword + i) * 16u + (drow >> 2u)][drow & 3u] = fp4x2(wv >> (4u * i)) * sc;
      }
      for (var c = 0u; c < 4u; c++) {
        xs[(4u * lk + c) * 16u + (ltok >> 1u)][ltok & 1u] = xv[c];
      }
      workgroupBarrier();
      for (var kk = 0u; kk < 32u; kk++) {
        let w = ws[kk * 16u + tr];
        let x = xs[kk * 16u + tp];
        a0 = fma(w, vec4f(x.x), a0);
        a1 = fma(w, vec4f(x.y), a1);
      }
    }
    for (var u = 0u; u < 2u; u++) {
      let q = q0 + 2u * tp + u;
      if (q >= n) { continue; }
      let ts = lst[q];
      let a = select(a0, a1, u == 1u);
      ${epilogue}
    }
    workgroupBarrier();
  }
}`,
  };
}


/**
 * The tiled grouped kernels on subgroup matrices (kernels/smat.ts): per expert, 128 output rows × TM tokens (32, 64
 * or 128) per workgroup; each K step decodes the 128×32 MXFP4 tile (scale applied) to f16 in workgroup memory once
 * and gathers the TM tokens' inputs as f16; f32 accumulation; the same epilogues as tiledProgram. An E8M0 scale beyond 2^12 would
 * overflow f16 (real checkpoints stay far below).
 */
function smatProgram(caps: GpuCaps, s: MoeShape, maxTokens: number, which: 'mlp1' | 'mlp2', TM = 32): KernelProgram {
  const { P, H, I, E, k, N, K, GB, src, bindings } = tileShape(caps, s, which);
  const srcRow = which === 'mlp1' ? `(p.xRow0 + ats / ${k}u) * ${K / 4}u` : `ats * ${K / 4}u`;
  const VA = TM / 32; // vec4f of input per invocation and K step
  const epilogue =
    which === 'mlp1'
      ? /* wgsl */ `{
      let q = q0 + m;
      let i = (n0 + n) / 2u;
      if (q < cntN && i < ${I}u) {
        let ts = lst[q];
        let rowG = e * ${2 * I}u + 2u * i;
        let gt = min(v0 + bias[rowG], p.limit);
        let l = clamp(v1 + bias[rowG + 1u], -p.limit, p.limit);
        act[ts * ${I}u + i] = gt / (1.0 + exp(-p.alpha * gt)) * (l + 1.0);
      }
    }`
      : /* wgsl */ `{
      let q = q0 + m;
      let h = n0 + n;
      if (q < cntN && h < ${H}u) { y[lst[q] * ${H}u + h] = v + bias[e * ${H}u + h]; }
    }`;
  const main = smatMain(caps, {
    TM,
    steps: `${GB}u`,
    // Inputs: token lid % TM of the tile (gathered through the expert list), 4·TM/32 K values per invocation.
    loadA: Array.from({ length: VA }, (_, j) => `let xv${j} = ${src}[xbase + 8u * g + ${VA}u * aq + ${j}u];`).join('\n    '),
    storeA: storeHalves('xa', 'SA', 'am', Array.from({ length: VA }, (_, j) => [`xv${j}`, `4u * (${VA}u * aq + ${j}u)`] as const)),
    // Weights: row lid % 128 of the tile, half a block (16 values: two u32 words) per invocation.
    loadB: `let wq = loadBlock(part, wbase + g);
    let sc = scaleAt(sbase + g);`,
    // Nibble pairs (q, q+4) of each word decoded to f16 pairs by the bit trick of MXFP4_F16_HELPERS (a few integer
    // operations per two values, against a table lookup and two conversions per value) and scaled in f16: exact for
    // E8M0 scales of 2^-24..2^12 (real checkpoints stay far inside). A 20b prefill chunk's MoE: 130 → 113 ms.
    storeB: `{
        let w0 = select(wq.x, wq.z, bh == 1u);
        let w1 = select(wq.y, wq.w, bh == 1u);
        let sh = vec2<f16>(f16(sc), f16(sc));
        ${[0, 1]
          .map((h) =>
            [0, 1, 2, 3]
              .map((q) => {
                const m = q === 3 ? `(w${h} >> 3u)` : `(w${h} << ${9 - 4 * q}u)`;
                const sg = q === 3 ? `w${h}` : `(w${h} << ${12 - 4 * q}u)`;
                return `{
          let v = fp4h((${m} & 0x0E000E00u) | (${sg} & 0x80008000u)) * sh;
          wb[(16u * bh + ${8 * h + q}u) * SB + br] = v.x;
          wb[(16u * bh + ${8 * h + q + 4}u) * SB + br] = v.y;
        }`;
              })
              .join('\n        '),
          )
          .join('\n        ')}
      }`,
    epilogue,
    pairs: which === 'mlp1',
  });
  return {
    name: `moe_smat_${which}`,
    cacheKey: `moe_smat_${which}:TM${TM}:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:T${maxTokens}:${JSON.stringify(caps.subgroupMatrixShape)}:${caps.subgroupMatrixUniformity}`,
    bindings,
    enables: SMAT_ENABLES,
    directives: SMAT_DIRECTIVES,
    params:
      which === 'mlp1'
        ? [
            ['tokens', 'u32'],
            ['xRow0', 'u32'],
            ['limit', 'f32'],
            ['alpha', 'f32'],
          ]
        : [
            ['tokens', 'u32'],
            ['xRow0', 'u32'],
          ],
    meta:
      which === 'mlp1'
        ? { pairsPerWorkgroup: SMAT_TILE_N / 2, maxTokens }
        : { rowsPerWorkgroup: SMAT_TILE_N, maxTokens },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${MXFP4_F16_HELPERS}
${partLoader(P)}
${tokenList(E, k, maxTokens)}
${smatDecls(caps, TM)}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, ${smatMainParams(caps)}) {
  let e = wid.y;
  let cntN = buildList(lid, e);
  if (cntN == 0u) { return; }
  let part = e / ${s.expertsPerPart}u;
  let n0 = wid.x * ${SMAT_TILE_N}u;
  let br = lid & 127u;
  let bh = lid >> 7u;
  let rowc = min(n0 + br, ${N - 1}u);
  let wbase = ((e % ${s.expertsPerPart}u) * ${N}u + rowc) * ${GB}u;
  let sbase = (e * ${N}u + rowc) * ${GB}u;
  let am = lid % ${TM}u;
  let aq = lid / ${TM}u;
  for (var q0 = 0u; q0 < cntN; q0 += ${TM}u) {
    let ats = lst[min(q0 + am, cntN - 1u)];
    let xbase = ${srcRow};
    ${main}
    workgroupBarrier();
  }
}`,
  };
}
