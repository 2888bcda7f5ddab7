import type { BindingDecl, BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { enables, groupReduce, MXFP4_HELPERS, partLoader, routeLocal, routePrologue } from '../wgsl.js';
import { checkMoeShape, type MoeArgs, type MoeShape } from './moe-mlp1.js';

/**
 * Decode MoE down-projection fused with the expert mix and the residual add:
 * x[t, h] += Σ_slot w_slot·(W2[e_slot]·act[t, slot] + b2[e_slot])[h]. One row h per 32 invocations, all k experts in
 * the same workgroup, so the sum stays in registers (no atomics, no extra pass).
 */
/** Output rows per 32-invocation group in the GPU shape. */
const RH = 1;

export function moeMlp2Program(caps: GpuCaps, s: MoeShape): KernelProgram {
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
  return {
    name: 'moe_mlp2',
    cacheKey: `moe_mlp2:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}`,
    bindings,
    enables: enables(caps),
    params: [['xRow0', 'u32']],
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${partLoader(P)}
${routePrologue(E, k)}
${groupReduce(caps, 'row_sum', RH, 32, 'add')}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = wid.y;
  let xrow = p.xRow0 + tok;
  route(lid, xrow);
  let lane = lid & 31u;
  let h0 = (wid.x * 8u + (lid >> 5u)) * ${RH}u;
  // Every weight load of this invocation (k experts x RH rows x NB blocks) is issued before any decoding.
  var wv: array<vec4<u32>, ${k * RH * NB}>;
  var ws: array<f32, ${k * RH * NB}>;
  for (var sl = 0u; sl < ${k}u; sl++) {
    let e = sel[sl];
    let part = e / ${s.expertsPerPart}u;
    for (var j = 0u; j < ${NB}u; j++) {
      let g = min(lane + 32u * j, ${GI - 1}u);
      for (var r = 0u; r < ${RH}u; r++) {
        let hh = min(h0 + r, ${H - 1}u);
        let q = (sl * ${NB}u + j) * ${RH}u + r;
        wv[q] = loadBlock(part, ((e % ${s.expertsPerPart}u) * ${H}u + hh) * ${GI}u + g);
        ws[q] = selw[sl] * scaleAt((e * ${H}u + hh) * ${GI}u + g);
      }
    }
  }
  var acc: array<f32, ${RH}>;
  for (var sl = 0u; sl < ${k}u; sl++) {
    let ab = (tok * ${k}u + sl) * ${I / 4}u;
    for (var j = 0u; j < ${NB}u; j++) {
      let g = lane + 32u * j;
      if (g < ${GI}u) {
        let b = ab + 8u * g;
        let a0 = act[b]; let a1 = act[b + 1u]; let a2 = act[b + 2u]; let a3 = act[b + 3u];
        let a4 = act[b + 4u]; let a5 = act[b + 5u]; let a6 = act[b + 6u]; let a7 = act[b + 7u];
        for (var r = 0u; r < ${RH}u; r++) {
          let q = (sl * ${NB}u + j) * ${RH}u + r;
          let w = wv[q];
          acc[r] += ws[q] * (fp4dot8(w.x, a0, a1) + fp4dot8(w.y, a2, a3) + fp4dot8(w.z, a4, a5) + fp4dot8(w.w, a6, a7));
        }
      }
    }
  }
  row_sum(&acc, lid);
  if (lane < ${RH}u) {
    let h = h0 + lane;
    if (h < ${H}u) {
      var y = acc[0];
      for (var r = 1u; r < ${RH}u; r++) { if (lane == r) { y = acc[r]; } }
      for (var sl = 0u; sl < ${k}u; sl++) { y += selw[sl] * bias[sel[sl] * ${H}u + h]; }
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
  a: MoeArgs & { act: BufferRef; x: BufferRef },
): void {
  rec.dispatch(program, [...a.blocks, a.scales, a.bias, a.act, a.logits, a.x], { xRow0: a.xRow0 ?? 0 }, [
    Math.ceil(s.H / (program.name === 'moe_mlp2_rowwise' ? 64 : 8 * RH)),
    a.tokens,
  ]);
}
