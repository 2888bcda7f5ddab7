import { KernelShapeError } from '../errors.js';
import type { BindingDecl, BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { enables, groupReduce, MXFP4_HELPERS, partLoader, rmsPrologue, routeLocal, routePrologue } from '../wgsl.js';

export interface MoeShape {
  /** Hidden size (mlp1 input, mlp2 output); a multiple of 32. */
  H: number;
  /** Expert intermediate size; a multiple of 32. */
  I: number;
  /** Number of experts. */
  E: number;
  /** Experts per token. */
  k: number;
  /** Experts per weight part (the blocks tensor split by expert ranges); E when unsplit. */
  expertsPerPart: number;
}

export function checkMoeShape(s: MoeShape): number {
  if (s.H % 32 !== 0 || s.I % 32 !== 0) {
    throw new KernelShapeError(`MoE: H and I must be multiples of 32 (MXFP4 blocks), got H=${s.H} I=${s.I}`);
  }
  if (s.k > s.E || s.k < 1) throw new KernelShapeError(`MoE: need 1 <= k <= E, got k=${s.k} E=${s.E}`);
  return Math.ceil(s.E / s.expertsPerPart);
}

/**
 * Decode MoE up-projection: for each (token, selected expert) pair, h = W1[e]·rmsnorm(x) + b1[e] with W1 in MXFP4,
 * then the clamped SwiGLU over the interleaved (gate, linear) rows, written to act[token*k + slot, I]. The router's
 * top-k + softmax runs in the prologue of every workgroup from the router logits, saving a dispatch.
 */
export function moeMlp1Program(caps: GpuCaps, s: MoeShape): KernelProgram {
  const P = checkMoeShape(s);
  const { H, I, E, k } = s;
  const GB = H / 32;
  const bindings: BindingDecl[] = [];
  for (let i = 0; i < P; i++) bindings.push({ name: `blocks${i}`, type: 'array<vec4<u32>>', access: 'read' });
  bindings.push(
    { name: 'scales', type: 'array<u32>', access: 'read' },
    { name: 'bias', type: 'array<f32>', access: 'read' },
    { name: 'x', type: 'array<vec4f>', access: 'read' },
    { name: 'gain', type: 'array<vec4f>', access: 'read' },
    { name: 'logits', type: 'array<f32>', access: 'read' },
    { name: 'act', type: 'array<f32>', access: 'read_write' },
  );
  if (caps.cpuLike) {
    return {
      name: 'moe_mlp1_rowwise',
      cacheKey: `moe_mlp1_rowwise:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}`,
      bindings,
      params: [
        ['xRow0', 'u32'],
        ['eps', 'f32'],
        ['limit', 'f32'],
        ['alpha', 'f32'],
      ],
      body: () => /* wgsl */ `
${MXFP4_HELPERS}
${partLoader(P)}
${routeLocal(E, k)}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let i = wid.x * 64u + lid;
  if (i >= ${I}u) { return; }
  let tok = wid.y / ${k}u;
  let slot = wid.y % ${k}u;
  let xrow = p.xRow0 + tok;
  var sel: array<u32, ${k}>;
  var selw: array<f32, ${k}>;
  routeLocal(xrow, &sel, &selw);
  var ss = 0.0;
  for (var c = 0u; c < ${H / 4}u; c++) { let v = x[xrow * ${H / 4}u + c]; ss += dot(v, v); }
  let inv = inverseSqrt(ss / ${H}.0 + p.eps);
  let e = sel[slot];
  let part = e / ${s.expertsPerPart}u;
  let rowG = e * ${2 * I}u + 2u * i;
  let lrowG = (e % ${s.expertsPerPart}u) * ${2 * I}u + 2u * i;
  var ag = 0.0;
  var al = 0.0;
  for (var g = 0u; g < ${GB}u; g++) {
    let wg = loadBlock(part, lrowG * ${GB}u + g);
    let wl = loadBlock(part, (lrowG + 1u) * ${GB}u + g);
    let xb = xrow * ${H / 4}u + 8u * g;
    var dg = 0.0;
    var dl = 0.0;
    for (var q = 0u; q < 4u; q++) {
      let xa = x[xb + 2u * q] * gain[8u * g + 2u * q];
      let xc = x[xb + 2u * q + 1u] * gain[8u * g + 2u * q + 1u];
      dg += fp4dot8(wg[q], xa, xc);
      dl += fp4dot8(wl[q], xa, xc);
    }
    ag += dg * scaleAt(rowG * ${GB}u + g);
    al += dl * scaleAt((rowG + 1u) * ${GB}u + g);
  }
  let gate = min(ag * inv + bias[rowG], p.limit);
  let lin = clamp(al * inv + bias[rowG + 1u], -p.limit, p.limit);
  act[(tok * ${k}u + slot) * ${I}u + i] = gate / (1.0 + exp(-p.alpha * gate)) * (lin + 1.0);
}`,
    };
  }
  return {
    name: 'moe_mlp1',
    cacheKey: `moe_mlp1:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}`,
    bindings,
    enables: enables(caps),
    params: [
      ['xRow0', 'u32'],
      ['eps', 'f32'],
      ['limit', 'f32'],
      ['alpha', 'f32'],
    ],
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${partLoader(P)}
${routePrologue(E, k)}
${rmsPrologue(caps, 1, H, 'x')}
${groupReduce(caps, 'pair_sum', 2, 32, 'add')}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = wid.y / ${k}u;
  let slot = wid.y % ${k}u;
  let xrow = p.xRow0 + tok;
  route(lid, xrow);
  computeInvRms(lid, xrow, p.eps);
  let e = sel[slot];
  let part = e / ${s.expertsPerPart}u;
  let i = wid.x * 8u + (lid >> 5u);
  let lane = lid & 31u;
  let ii = min(i, ${I - 1}u);
  let rowG = e * ${2 * I}u + 2u * ii;
  let lrowG = (e % ${s.expertsPerPart}u) * ${2 * I}u + 2u * ii;
  var acc: array<f32, 2>;
  for (var g = lane; g < ${GB}u; g += 32u) {
    let wg = loadBlock(part, lrowG * ${GB}u + g);
    let wl = loadBlock(part, (lrowG + 1u) * ${GB}u + g);
    let xb = xrow * ${H / 4}u + 8u * g;
    var dg = 0.0;
    var dl = 0.0;
    for (var q = 0u; q < 4u; q++) {
      let xa = x[xb + 2u * q] * gain[8u * g + 2u * q];
      let xc = x[xb + 2u * q + 1u] * gain[8u * g + 2u * q + 1u];
      dg += fp4dot8(wg[q], xa, xc);
      dl += fp4dot8(wl[q], xa, xc);
    }
    acc[0] += dg * scaleAt(rowG * ${GB}u + g);
    acc[1] += dl * scaleAt((rowG + 1u) * ${GB}u + g);
  }
  pair_sum(&acc, lid);
  if (lane == 0u && i < ${I}u) {
    let gate = min(acc[0] * inv_rms[0] + bias[rowG], p.limit);
    let lin = clamp(acc[1] * inv_rms[0] + bias[rowG + 1u], -p.limit, p.limit);
    act[(tok * ${k}u + slot) * ${I}u + i] = gate / (1.0 + exp(-p.alpha * gate)) * (lin + 1.0);
  }
}`,
  };
}

export interface MoeArgs {
  /** Expert-range parts of the MXFP4 blocks tensor ([E, rows, G, 16] bytes), in expert order. */
  blocks: readonly GPUBuffer[];
  scales: BufferRef;
  /** f32 [E, rows]. */
  bias: BufferRef;
  /** Router logits f32 [rows of x, E] (row = token). */
  logits: BufferRef;
  /** Number of tokens and first token row. */
  tokens: number;
  xRow0?: number;
}

export function moeMlp1(
  rec: StepRecorder,
  program: KernelProgram,
  s: MoeShape,
  a: MoeArgs & { x: BufferRef; gain: BufferRef; act: BufferRef; eps?: number; limit: number },
): void {
  rec.dispatch(
    program,
    [...a.blocks, a.scales, a.bias, a.x, a.gain, a.logits, a.act],
    { xRow0: a.xRow0 ?? 0, eps: a.eps ?? 1e-5, limit: a.limit, alpha: 1.702 },
    [Math.ceil(s.I / (program.name === 'moe_mlp1_rowwise' ? 64 : 8)), a.tokens * s.k],
  );
}
