import { KernelShapeError } from '../errors.js';
import type { BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { BF16_HELPERS } from '../wgsl.js';

/**
 * The router folded into the decode step's projections (GPU shapes, batches of up to 8 rows).
 *
 * A decode layer's router reads h = x + Wo·a + bo (the out projection's result) normalised: logits = Wr·(g⊙h)/rms(h)
 * + br. Its numerator is linear in what the layer already reads, Wr·diag(g)·h = Wg·x + Mo·a + c with Wg = Wr·diag(g)
 * ([E, H]), Mo = Wg·Wo ([E, AW]) and c = Wg·bo ([E]), all made once at load time (routerFoldPrecompute). So:
 * - the QKV GEMV's extra workgroups write base = Wg·x + c (x is not written until the out projection);
 * - the out GEMV's extra workgroups write num = base + Mo·a, and its row workgroups write g⊙h and, per workgroup,
 *   Σh² over their rows (rms(h) needs all of h: a quadratic form, not a linear one);
 * - mlp1 sums the Σh² partials, takes logits = num/rms + br, routes from them, reads g⊙h/rms as its input and
 *   writes the logits for mlp2.
 * The router's own dispatch (a dependent dispatch per layer) is gone.
 *
 * The per-step scratch buffer holds, in f32: base [8][E], num [8][E], Σh² partials [8][NSQ], g⊙h [8][H] (rows m
 * of the step at m·E, m·NSQ, m·H).
 */
export interface RouterFoldLayout {
  E: number;
  H: number;
  /** Σh² partials per row: the out GEMV's row workgroups (8 rows each). */
  nsq: number;
  base: number;
  num: number;
  sq: number;
  /** Offset of g⊙h; a multiple of 4 (read as vec4f). */
  hg: number;
  /** Elements in all. */
  total: number;
}

/** Rows of a step the fold serves (the GEMV's rows per weight read). */
export const FOLD_MAX_ROWS = 8;

export function routerFoldLayout(E: number, H: number): RouterFoldLayout {
  if (H % 8 !== 0) throw new KernelShapeError(`router fold: H must be a multiple of 8, got ${H}`);
  const nsq = Math.ceil(H / 8);
  const base = 0;
  const num = base + FOLD_MAX_ROWS * E;
  const sq = num + FOLD_MAX_ROWS * E;
  const hg = Math.ceil((sq + FOLD_MAX_ROWS * nsq) / 4) * 4;
  return { E, H, nsq, base, num, sq, hg, total: hg + FOLD_MAX_ROWS * H };
}

/**
 * Load-time program: from the router's bf16 weights Wr [E, H], the MLP norm's gain g [H], the out projection's bf16
 * weights Wo [H, AW] and bias bo [H], writes wgc = [Wg (E·H) | c (E)] and mo = Mo [E, AW] (f32). One invocation per
 * (expert, column pair); the first workgroup of each expert writes its Wg row and c.
 */
export function routerFoldPrecomputeProgram(s: { E: number; H: number; AW: number }): KernelProgram {
  const { E, H, AW } = s;
  if (AW % 2 !== 0 || H % 2 !== 0) throw new KernelShapeError(`router fold: H and AW must be even, got H=${H} AW=${AW}`);
  const AW2 = AW / 2;
  return {
    name: 'router_fold_precompute',
    cacheKey: `router_fold_precompute:E${E}:H${H}:AW${AW}`,
    bindings: [
      { name: 'wr', type: 'array<u32>', access: 'read' },
      { name: 'gain', type: 'array<f32>', access: 'read' },
      { name: 'wo', type: 'array<u32>', access: 'read' },
      { name: 'bo', type: 'array<f32>', access: 'read' },
      { name: 'wgc', type: 'array<f32>', access: 'read_write' },
      { name: 'mo', type: 'array<vec2f>', access: 'read_write' },
    ],
    params: [],
    body: () => /* wgsl */ `
${BF16_HELPERS}
var<workgroup> red: array<f32, 256>;
fn wg(e: u32, r: u32) -> f32 {
  let i = e * ${H}u + r;
  let u = wr[i >> 1u];
  return select(bitcast<f32>(u & 0xffff0000u), bitcast<f32>(u << 16u), (i & 1u) == 0u) * gain[r];
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let e = wid.y;
  let jp = min(wid.x * 256u + lid, ${AW2 - 1}u);
  var acc = vec2f(0.0);
  for (var r = 0u; r < ${H}u; r++) {
    acc += wg(e, r) * bf2(wo[r * ${AW2}u + jp]);
  }
  if (wid.x * 256u + lid < ${AW2}u) { mo[e * ${AW2}u + jp] = acc; }
  if (wid.x == 0u) {
    var c = 0.0;
    for (var r = lid; r < ${H}u; r += 256u) {
      let v = wg(e, r);
      wgc[e * ${H}u + r] = v;
      c += v * bo[r];
    }
    red[lid] = c;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w >>= 1u) {
      if (lid < w) { red[lid] += red[lid + w]; }
      workgroupBarrier();
    }
    if (lid == 0u) { wgc[${E * H}u + e] = red[0]; }
  }
}`,
  };
}

/** Buffers a layer's fold reads: [Wg | c] and Mo (f32). */
export interface RouterFoldWeights {
  wgc: GPUBuffer;
  mo: GPUBuffer;
}

export function routerFoldPrecompute(
  rec: StepRecorder,
  program: KernelProgram,
  s: { E: number; H: number; AW: number },
  a: { wr: BufferRef; gain: BufferRef; wo: BufferRef; bo: BufferRef; wgc: BufferRef; mo: BufferRef },
): void {
  rec.dispatch(program, [a.wr, a.gain, a.wo, a.bo, a.wgc, a.mo], {}, [Math.ceil(s.AW / 2 / 256), s.E]);
}

/** Bytes of the fold's per-layer weights: Wg and c, then Mo. */
export function routerFoldWeightBytes(s: { E: number; H: number; AW: number }): { wgc: number; mo: number } {
  return { wgc: (s.E * s.H + s.E) * 4, mo: s.E * s.AW * 4 };
}

/**
 * WGSL for the fold's reading side in mlp1: `folds(i)` reads the scratch (bound as `fold`, vec4f) as scalars,
 * `foldInv(lid, tok)` is 1/rms(h) of row `tok` from the Σh² partials (every subgroup sums them itself where subgroups
 * of 32 exist: no barrier; else through workgroup memory), `foldLogit(tok, e)` the router logit.
 */
export function foldReadHelpers(caps: GpuCaps, L: RouterFoldLayout): string {
  const inv = caps.subgroups32
    ? `fn foldInv(lid: u32, tok: u32) -> f32 {
  var s = 0.0;
  for (var i = lid & 31u; i < ${L.nsq}u; i += 32u) { s += folds(${L.sq}u + tok * ${L.nsq}u + i); }
  return inverseSqrt(subgroupAdd(s) / ${L.H}.0 + p.eps);
}`
    : `var<workgroup> foldRed: array<f32, 256>;
fn foldInv(lid: u32, tok: u32) -> f32 {
  var s = 0.0;
  for (var i = lid; i < ${L.nsq}u; i += 256u) { s += folds(${L.sq}u + tok * ${L.nsq}u + i); }
  foldRed[lid] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid < w) { foldRed[lid] += foldRed[lid + w]; }
    workgroupBarrier();
  }
  let t = foldRed[0];
  workgroupBarrier();
  return inverseSqrt(t / ${L.H}.0 + p.eps);
}`;
  return /* wgsl */ `
fn folds(i: u32) -> f32 { return fold[i >> 2u][i & 3u]; }
var<private> finv: f32;
${inv}
fn foldLogit(tok: u32, e: u32) -> f32 { return folds(${L.num}u + tok * ${L.E}u + e) * finv + rbias[e]; }
`;
}
