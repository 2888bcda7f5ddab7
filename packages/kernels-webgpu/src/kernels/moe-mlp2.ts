import { KernelShapeError } from '../errors.js';
import type { BindingDecl, BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import {
  enables,
  groupReduce,
  emitMxfp4BlockDot,
  lutCopies,
  HALF_PAIR_F16,
  HALF_PAIR_HELPERS,
  MXFP4_F16_HELPERS,
  MXFP4_HELPERS,
  moeRouting,
  mxfp4LutHelpers,
  mxfp4F16Chain,
  partLoader,
  routeLocal,
  routePrologue,
} from '../wgsl.js';
import type { MoeDecodeVariant } from '../wgsl.js';
import { checkMoeShape, decodeKey, type MoeArgs, type MoeProgramOptions, type MoeShape } from './moe-mlp1.js';

/**
 * Decode MoE down-projection fused with the expert mix and the residual add:
 * x[t, h] += Σ_slot w_slot·(W2[e_slot]·act[t, slot] + b2[e_slot])[h]. One row h per 32 invocations, all k experts in
 * the same workgroup, so the sum stays in registers (no atomics, no extra pass).
 */
/** Output rows per 32-invocation group in the GPU shape. */
const RH_DEFAULT = 4;

export function moeMlp2Program(caps: GpuCaps, s: MoeShape, opts: MoeProgramOptions = {}): KernelProgram {
  const P = checkMoeShape(s);
  const { H, I, E, k } = s;
  const GI = I / 32;
  const bindings: BindingDecl[] = [];
  for (let i = 0; i < P; i++) bindings.push({ name: `blocks${i}`, type: 'array<vec4<u32>>', access: 'read' });
  bindings.push(
    { name: 'scales', type: 'array<u32>', access: 'read' },
    { name: 'bias', type: 'array<f32>', access: 'read' },
    { name: 'act', type: 'array<vec4f>', access: 'read' },
    { name: 'logits', type: 'array<f32>', access: 'read' },
    { name: 'x', type: 'array<f32>', access: 'read_write' },
  );
  if (caps.cpuLike) {
    return {
      name: 'moe_mlp2_rowwise',
      cacheKey: `moe_mlp2_rowwise:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}`,
      bindings,
      params: [['xRow0', 'u32']],
      body: () => /* wgsl */ `
${MXFP4_HELPERS}
${partLoader(P)}
${routeLocal(E, k)}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let h = wid.x * 64u + lid;
  if (h >= ${H}u) { return; }
  let tok = wid.y;
  let xrow = p.xRow0 + tok;
  var sel: array<u32, ${k}>;
  var selw: array<f32, ${k}>;
  routeLocal(xrow, &sel, &selw);
  var y = 0.0;
  for (var sl = 0u; sl < ${k}u; sl++) {
    let e = sel[sl];
    let part = e / ${s.expertsPerPart}u;
    let row = e * ${H}u + h;
    let lrow = (e % ${s.expertsPerPart}u) * ${H}u + h;
    let ab = (tok * ${k}u + sl) * ${I / 4}u;
    var a = 0.0;
    for (var g = 0u; g < ${GI}u; g++) {
      let w = loadBlock(part, lrow * ${GI}u + g);
      var d = 0.0;
      for (var q = 0u; q < 4u; q++) {
        d += fp4dot8(w[q], act[ab + 8u * g + 2u * q], act[ab + 8u * g + 2u * q + 1u]);
      }
      a += d * scaleAt(row * ${GI}u + g);
    }
    y += selw[sl] * (a + bias[row]);
  }
  x[xrow * ${H}u + h] += y;
}`,
    };
  }
  const NB = Math.ceil(GI / 32);
  if (k > 8) throw new KernelShapeError(`moeMlp2: at most 8 experts per token in the GPU shape, got ${k}`);
  // Subgroup s works on expert slot s % k for RH rows of row group s / k: act loads (and f16 conversions) are shared
  // by RH rows, every weight load of an invocation is issued before any decoding, and the k expert partials meet in
  // workgroup memory.
  const RG = Math.floor(8 / k);
  const RH = opts.rowsPerGroup ?? RH_DEFAULT;
  if (opts.halfActivations && (opts.legacy || opts.lut)) {
    throw new KernelShapeError('moeMlp2: f16-pair activations need the unrolled kernel without the LUT decode');
  }
  if (!opts.legacy) return moeMlp2Unrolled(caps, s, P, RH, bindings, opts.lut ? lutCopies(caps) : 0, !!opts.halfActivations, opts.rankRouting ?? s.E <= 32, opts.decode);
  return {
    name: 'moe_mlp2',
    cacheKey: `moe_mlp2:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}:h${+caps.f16}:legacy:RH${RH}`,
    bindings,
    enables: enables(caps, true),
    params: [['xRow0', 'u32']],
    meta: { rowsPerWorkgroup: RG * RH },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${caps.f16 ? MXFP4_F16_HELPERS : ''}
${partLoader(P)}
${routePrologue(E, k)}
${groupReduce(caps, 'row_sum', RH, 32, 'add')}
var<workgroup> partial: array<f32, ${8 * RH}>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = wid.y;
  let xrow = p.xRow0 + tok;
  route(lid, xrow);
  let lane = lid & 31u;
  let sg = lid >> 5u;
  let busy = sg < ${RG * k}u;
  let sl = min(sg % ${k}u, ${k - 1}u);
  let h0 = (wid.x * ${RG}u + sg / ${k}u) * ${RH}u;
  let e = sel[sl];
  let part = e / ${s.expertsPerPart}u;
  var wv: array<vec4<u32>, ${NB * RH}>;
  var ws: array<f32, ${NB * RH}>;
  for (var j = 0u; j < ${NB}u; j++) {
    let g = min(lane + 32u * j, ${GI - 1}u);
    for (var r = 0u; r < ${RH}u; r++) {
      let hh = min(h0 + r, ${H - 1}u);
      wv[j * ${RH}u + r] = loadBlock(part, ((e % ${s.expertsPerPart}u) * ${H}u + hh) * ${GI}u + g);
      ws[j * ${RH}u + r] = scaleAt((e * ${H}u + hh) * ${GI}u + g);
    }
  }
  var acc: array<f32, ${RH}>;
  let ab = (tok * ${k}u + sl) * ${I / 4}u;
  for (var j = 0u; j < ${NB}u; j++) {
    let g = lane + 32u * j;
    if (g < ${GI}u && busy) {
      let b = ab + 8u * g;
      let a0 = act[b]; let a1 = act[b + 1u]; let a2 = act[b + 2u]; let a3 = act[b + 3u];
      let a4 = act[b + 4u]; let a5 = act[b + 5u]; let a6 = act[b + 6u]; let a7 = act[b + 7u];
      ${caps.f16 ? 'let q0 = x8h(a0, a1); let q1 = x8h(a2, a3); let q2 = x8h(a4, a5); let q3 = x8h(a6, a7);' : ''}
      for (var r = 0u; r < ${RH}u; r++) {
        let w = wv[j * ${RH}u + r];
        ${
          caps.f16
            ? 'acc[r] += ws[j * ' + RH + 'u + r] * (fp4dot8h(w.x, q0) + fp4dot8h(w.y, q1) + fp4dot8h(w.z, q2) + fp4dot8h(w.w, q3));'
            : 'acc[r] += ws[j * ' + RH + 'u + r] * (fp4dot8(w.x, a0, a1) + fp4dot8(w.y, a2, a3) + fp4dot8(w.z, a4, a5) + fp4dot8(w.w, a6, a7));'
        }
      }
    }
  }
  row_sum(&acc, lid);
  if (lane == 0u) {
    for (var r = 0u; r < ${RH}u; r++) { partial[sg * ${RH}u + r] = select(0.0, selw[sl] * acc[r], busy); }
  }
  workgroupBarrier();
  if (lid < ${RG * RH}u) {
    let rg = lid / ${RH}u;
    let h = (wid.x * ${RG}u + rg) * ${RH}u + lid % ${RH}u;
    if (h < ${H}u) {
      var y = 0.0;
      for (var q = 0u; q < ${k}u; q++) {
        y += partial[(rg * ${k}u + q) * ${RH}u + lid % ${RH}u] + selw[q] * bias[sel[q] * ${H}u + h];
      }
      x[xrow * ${H}u + h] += y;
    }
  }
}`,
  };
}

export function moeMlp2(
  rec: StepRecorder,
  program: KernelProgram,
  s: MoeShape,
  a: MoeArgs & {
    act: BufferRef;
    x: BufferRef;
    /** Multiplier of the dot products (2^(15-k) for the raw decode of act prescaled by 2^k); default 1. */
    actScale?: number;
  },
): void {
  rec.dispatch(program, [...a.blocks, a.scales, a.bias, a.act, a.logits, a.x], { xRow0: a.xRow0 ?? 0, actScale: a.actScale ?? 1 }, [
    Math.ceil(s.H / (program.name === 'moe_mlp2_rowwise' ? 64 : (program.meta?.rowsPerWorkgroup ?? Math.floor(8 / s.k) * RH_DEFAULT))),
    a.tokens,
  ]);
}

/** The GPU shape as straight-line WGSL (see moeMlp1Unrolled): no dynamically indexed function-scope arrays. */
function moeMlp2Unrolled(
  caps: GpuCaps,
  s: MoeShape,
  P: number,
  RH: number,
  bindings: BindingDecl[],
  lutC: number,
  half: boolean,
  rank: boolean,
  decode?: MoeDecodeVariant,
): KernelProgram {
  const { H, I, E, k } = s;
  const routing = moeRouting(caps, E, k, rank);
  if (half) bindings = bindings.map((b) => (b.name === 'act' ? { ...b, type: 'array<vec4<u32>>' } : b));
  const GI = I / 32;
  const NB = Math.ceil(GI / 32);
  const RG = Math.floor(8 / k);
  const lines: string[] = [];
  for (let r = 0; r < RH; r++) lines.push(`let hh${r} = min(h0 + ${r}u, ${H - 1}u);`);
  for (let j = 0; j < NB; j++) {
    const partial = 32 * (j + 1) > GI;
    lines.push(`let g${j} = ${partial ? `min(lane + ${32 * j}u, ${GI - 1}u)` : `lane + ${32 * j}u`};`);
    for (let r = 0; r < RH; r++) lines.push(`let w${r}_${j} = loadBlock(part, (lbase + hh${r}) * ${GI}u + g${j});`);
  }
  for (let j = 0; j < NB; j++) {
    const partial = 32 * (j + 1) > GI;
    const ok = partial ? `busy && lane + ${32 * j}u < ${GI}u` : 'busy';
    for (let r = 0; r < RH; r++) lines.push(`let s${r}_${j} = select(0.0, scaleAt((sbase + hh${r}) * ${GI}u + g${j}), ${ok});`);
  }
  const nLoads = lines.length;
  for (let r = 0; r < RH; r++) lines.push(`var c${r} = 0.0;`);
  for (let j = 0; j < NB; j++) {
    lines.push('{');
    // f32: 8 vec4f per block of a row of I; f16 pairs: 4 vec4<u32>.
    lines.push(`let b = ab + ${half ? 4 : 8}u * g${j};`);
    emitMxfp4BlockDot(lines, { j, rows: RH, caps, lut: lutC > 0, halfPairs: half, decode, load: (q) => `act[b + ${q}u]`, x: 'a', half: 'q', acc: 'c' });
    lines.push('}');
  }
  lines.push(`var acc: array<f32, ${RH}>;`);
  for (let r = 0; r < RH; r++) lines.push(`acc[${r}] = c${r};`);
  return {
    name: 'moe_mlp2',
    cacheKey: `moe_mlp2t:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}:h${+caps.f16}:RH${RH}:lut${lutC}:ha${+half}:rr${+rank}${decodeKey(decode)}`,
    bindings,
    enables: enables(caps, true),
    params: [
      ['xRow0', 'u32'],
      ['actScale', 'f32'],
    ],
    meta: { rowsPerWorkgroup: RG * RH },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${caps.f16 ? MXFP4_F16_HELPERS : ''}
${caps.f16 && decode ? mxfp4F16Chain(!!decode.raw) : ''}
${lutC ? mxfp4LutHelpers(lutC) : ''}
${half ? HALF_PAIR_HELPERS + (caps.f16 ? HALF_PAIR_F16 : '') : ''}
${partLoader(P)}
${routing.decl}
${groupReduce(caps, 'row_sum', RH, 32, 'add')}
var<workgroup> partial: array<f32, ${8 * RH}>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  ${lutC ? `fillLut(lid);\n  let ll = lid & ${lutC - 1}u;` : ''}
  let tok = wid.y;
  let xrow = p.xRow0 + tok;
  ${routing.call('xrow')}
  let lane = lid & 31u;
  let sg = lid >> 5u;
  let busy = sg < ${RG * k}u;
  let sl = min(sg % ${k}u, ${k - 1}u);
  let h0 = (wid.x * ${RG}u + sg / ${k}u) * ${RH}u;
  let e = sel[sl];
  let part = e / ${s.expertsPerPart}u;
  let lbase = (e % ${s.expertsPerPart}u) * ${H}u;
  let sbase = e * ${H}u;
  let ab = (tok * ${k}u + sl) * ${half ? I / 8 : I / 4}u;
  ${lines.slice(0, nLoads).join('\n  ')}
  // What the tail adds (the experts' biases, the residual) is loaded with the weights: loaded after the reduction it
  // would add a memory round trip to every workgroup's finish. Invocation lid < ${RG * RH} finishes row th.
  let th = min((wid.x * ${RG}u + lid / ${RH}u) * ${RH}u + lid % ${RH}u, ${H - 1}u);
  ${Array.from({ length: k }, (_, q) => `let tb${q} = bias[sel[${q}] * ${H}u + th];`).join(' ')}
  let tx = x[xrow * ${H}u + th];
  ${lines.slice(nLoads).join('\n  ')}
  row_sum(&acc, lid);
  if (lane == 0u) {
    for (var r = 0u; r < ${RH}u; r++) { partial[sg * ${RH}u + r] = select(0.0, selw[sl] * (acc[r] * p.actScale), busy); }
  }
  workgroupBarrier();
  if (lid < ${RG * RH}u) {
    let rg = lid / ${RH}u;
    let h = (wid.x * ${RG}u + rg) * ${RH}u + lid % ${RH}u;
    if (h < ${H}u) {
      var y = 0.0;
      ${Array.from({ length: k }, (_, q) => `y += partial[(rg * ${k}u + ${q}u) * ${RH}u + lid % ${RH}u] + selw[${q}] * tb${q};`).join('\n      ')}
      x[xrow * ${H}u + h] = tx + y;
    }
  }
}`,
  };
}
