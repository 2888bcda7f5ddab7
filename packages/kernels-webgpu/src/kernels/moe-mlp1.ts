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
import { foldReadHelpers, routerFoldLayout } from './router-fold.js';

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

/** Row pairs (gate, linear) per 32-invocation group in the GPU shape. */
const PAIRS_PER_GROUP = 4;

/**
 * Decode MoE up-projection: for each (token, selected expert) pair, h = W1[e]·xn + b1[e] with W1 in MXFP4 and xn the
 * RMS-normalised input (written by the router GEMV), then the clamped SwiGLU over the interleaved (gate, linear)
 * rows into act[token*k + slot, I]. The router's top-k + softmax runs in every workgroup's prologue from the router
 * logits, saving a dispatch. GPU shape: 32 invocations per 4 row pairs (8 rows), 32 pairs per workgroup, written
 * out as straight-line WGSL; every weight load of an invocation is issued before any decoding and x blocks are
 * reused across the rows.
 */
/** Variants of the GPU shape (benchmarks compare them; the defaults are what the model uses). */
export interface MoeProgramOptions {
  /** The loop-form kernel of the previous release instead of the unrolled one. */
  legacy?: boolean;
  /** mlp1: row pairs per 32-invocation group (default 4). mlp2: output rows per group (default 4). */
  pairsPerGroup?: number;
  rowsPerGroup?: number;
  /** Decode MXFP4 through a table in workgroup memory (f16 fast path only; ignored elsewhere). */
  lut?: boolean;
  /**
   * Activations as f16 pairs (HALF_PAIR_HELPERS in wgsl.ts): mlp1 reads xn and writes act in that layout, mlp2 reads
   * act in it. The GPU shape's unrolled kernels only; the model turns it on with shader-f16 (the f32 paths keep f32
   * activations for their 1e-3 tolerance).
   */
  halfActivations?: boolean;
  /**
   * mlp1 with halfActivations: how the f16 pairs (i, i+4) of act meet. 'lanes' (default where the row pairs per
   * group divide 8 evenly: 2, 4 or 8): each subgroup computes whole pairs, so one invocation packs both values;
   * 'workgroup': through workgroup memory behind a barrier (any shape).
   */
  pairWrite?: 'lanes' | 'workgroup';
  /**
   * Route by rank counting in workgroup memory (routePrologue) rather than by subgroup max rounds (routeSubgroupFn).
   * Default: rank counting up to 32 experts, subgroups above (H100, whole decode step: 120b 4.60 → 3.53 ms with
   * subgroups; 20b 2.44 ms with rank counting, 2.47 with subgroups; bench/RESULTS.md session 9). Without subgroups of
   * 32, always rank counting.
   */
  rankRouting?: boolean;
  /**
   * Decode of the f16-pair path (wgsl.ts, MoeDecodeVariant). Default: the pairs rescaled by 2^15 one at a time, one
   * f16 chain per weight word. With `raw` the inputs must arrive prescaled (xScale / actScale undo it).
   */
  decode?: MoeDecodeVariant;
  /** @internal Benchmarks: mlp2's decode where it differs from mlp1's (the model's options only). */
  decode2?: MoeDecodeVariant;
  /**
   * mlp1 (unrolled GPU shape): route from the router fold's scratch instead of router logits, and read its input
   * (g⊙h, normalised here) from it; writes the logits for mlp2 (router-fold.ts). The model's decode steps.
   */
  fold?: boolean;
}

export function moeMlp1Program(caps: GpuCaps, s: MoeShape, opts: MoeProgramOptions = {}): KernelProgram {
  const P = checkMoeShape(s);
  const { H, I, E, k } = s;
  const GB = H / 32;
  let bindings: BindingDecl[] = [];
  for (let i = 0; i < P; i++) bindings.push({ name: `blocks${i}`, type: 'array<vec4<u32>>', access: 'read' });
  bindings.push(
    { name: 'scales', type: 'array<u32>', access: 'read' },
    { name: 'bias', type: 'array<f32>', access: 'read' },
    { name: 'xn', type: 'array<vec4f>', access: 'read' },
    { name: 'logits', type: 'array<f32>', access: 'read' },
    { name: 'act', type: 'array<f32>', access: 'read_write' },
  );
  // xScale multiplies the dot products (2^(15-k) when xn arrives prescaled by 2^k for the raw decode, else 1); actOut
  // multiplies the f16-pair act written for mlp2 (2^k for mlp2's raw decode, else 1).
  const params = [
    ['xRow0', 'u32'],
    ['limit', 'f32'],
    ['alpha', 'f32'],
    ['xScale', 'f32'],
    ['actOut', 'f32'],
  ] as const;
  const swiglu = (g: string, l: string) => swigluValue(g, l, `act[(tok * ${k}u + slot) * ${I}u + i]`);
  if (caps.cpuLike) {
    return {
      name: 'moe_mlp1_rowwise',
      cacheKey: `moe_mlp1_rowwise:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}`,
      bindings,
      params,
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
    ag += scaleAt(rowG * ${GB}u + g) * (fp4dot8(wg.x, xn[xb], xn[xb + 1u]) + fp4dot8(wg.y, xn[xb + 2u], xn[xb + 3u]) +
      fp4dot8(wg.z, xn[xb + 4u], xn[xb + 5u]) + fp4dot8(wg.w, xn[xb + 6u], xn[xb + 7u]));
    al += scaleAt((rowG + 1u) * ${GB}u + g) * (fp4dot8(wl.x, xn[xb], xn[xb + 1u]) + fp4dot8(wl.y, xn[xb + 2u], xn[xb + 3u]) +
      fp4dot8(wl.z, xn[xb + 4u], xn[xb + 5u]) + fp4dot8(wl.w, xn[xb + 6u], xn[xb + 7u]));
  }
  ${swiglu('ag + bias[rowG]', 'al + bias[rowG + 1u]')}
}`,
    };
  }
  const RP = opts.pairsPerGroup ?? PAIRS_PER_GROUP;
  const NB = Math.ceil(GB / 32);
  if (opts.fold && (opts.legacy || opts.lut)) throw new KernelShapeError('moeMlp1: the router fold needs the unrolled kernel without the LUT decode');
  if (opts.halfActivations && (opts.legacy || opts.lut)) {
    throw new KernelShapeError('moeMlp1: f16-pair activations need the unrolled kernel without the LUT decode');
  }
  if (!opts.legacy) {
    const half = !!opts.halfActivations;
    const lanes = half && opts.pairWrite !== 'workgroup' && (RP === 2 || RP === 4 || RP === 8);
    if (opts.pairWrite === 'lanes' && !lanes) {
      throw new KernelShapeError(`moeMlp1: pairWrite 'lanes' needs halfActivations and 2, 4 or 8 row pairs per group, got ${RP}`);
    }
    if (opts.fold) {
      bindings = bindings.map((b) =>
        b.name === 'xn' ? { name: 'fold', type: 'array<vec4f>', access: 'read' } : b.name === 'logits' ? { ...b, access: 'read_write' } : b,
      );
      bindings.push({ name: 'rbias', type: 'array<f32>', access: 'read' });
    }
    const fparams: KernelProgram['params'] = opts.fold ? [...params, ['eps', 'f32'], ['xnScale', 'f32']] : params;
    return moeMlp1Unrolled(caps, s, P, RP, bindings, fparams, opts.lut ? lutCopies(caps) : 0, half, lanes, opts.rankRouting ?? s.E <= 32, opts.decode, !!opts.fold);
  }
  return {
    name: 'moe_mlp1',
    cacheKey: `moe_mlp1:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}:h${+caps.f16}:legacy`,
    bindings,
    enables: enables(caps, true),
    params,
    meta: { pairsPerWorkgroup: 8 * RP },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${caps.f16 ? MXFP4_F16_HELPERS : ''}
${partLoader(P)}
${routePrologue(E, k)}
${groupReduce(caps, 'pair_sum', 2 * RP, 32, 'add')}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = wid.y / ${k}u;
  let slot = wid.y % ${k}u;
  let xrow = p.xRow0 + tok;
  route(lid, xrow);
  let e = sel[slot];
  let part = e / ${s.expertsPerPart}u;
  let lane = lid & 31u;
  let i0 = (wid.x * 8u + (lid >> 5u)) * ${RP}u;
  // Issue every weight load of this invocation first (up to 2·RP·NB blocks), then decode: more bytes in flight.
  var wv: array<vec4<u32>, ${2 * RP * NB}>;
  var ws: array<f32, ${2 * RP * NB}>;
  for (var j = 0u; j < ${NB}u; j++) {
    let g = min(lane + 32u * j, ${GB - 1}u);
    for (var r = 0u; r < ${2 * RP}u; r++) {
      let ii = min(i0 + r / 2u, ${I - 1}u);
      let lrow = (e % ${s.expertsPerPart}u) * ${2 * I}u + 2u * ii + (r & 1u);
      wv[j * ${2 * RP}u + r] = loadBlock(part, lrow * ${GB}u + g);
      ws[j * ${2 * RP}u + r] = scaleAt((e * ${2 * I}u + 2u * ii + (r & 1u)) * ${GB}u + g);
    }
  }
  var acc: array<f32, ${2 * RP}>;
  for (var j = 0u; j < ${NB}u; j++) {
    let g = lane + 32u * j;
    if (g < ${GB}u) {
      let xb = xrow * ${H / 4}u + 8u * g;
      let x0 = xn[xb]; let x1 = xn[xb + 1u]; let x2 = xn[xb + 2u]; let x3 = xn[xb + 3u];
      let x4 = xn[xb + 4u]; let x5 = xn[xb + 5u]; let x6 = xn[xb + 6u]; let x7 = xn[xb + 7u];
      ${
        caps.f16
          ? `let h0 = x8h(x0, x1); let h1 = x8h(x2, x3); let h2 = x8h(x4, x5); let h3 = x8h(x6, x7);
      for (var r = 0u; r < ${2 * RP}u; r++) {
        let w = wv[j * ${2 * RP}u + r];
        acc[r] += ws[j * ${2 * RP}u + r] * (fp4dot8h(w.x, h0) + fp4dot8h(w.y, h1) + fp4dot8h(w.z, h2) + fp4dot8h(w.w, h3));
      }`
          : `for (var r = 0u; r < ${2 * RP}u; r++) {
        let w = wv[j * ${2 * RP}u + r];
        acc[r] += ws[j * ${2 * RP}u + r] * (fp4dot8(w.x, x0, x1) + fp4dot8(w.y, x2, x3) +
          fp4dot8(w.z, x4, x5) + fp4dot8(w.w, x6, x7));
      }`
      }
    }
  }
  pair_sum(&acc, lid);
  if (lane < ${RP}u) {
    let i = i0 + lane;
    if (i < ${I}u) {
      let rowG = e * ${2 * I}u + 2u * i;
      var ga = acc[0];
      var la = acc[1];
      for (var r = 1u; r < ${RP}u; r++) { if (lane == r) { ga = acc[2u * r]; la = acc[2u * r + 1u]; } }
      ${swiglu('ga + bias[rowG]', 'la + bias[rowG + 1u]')}
    }
  }
}`,
  };
}

/**
 * The GPU shape written out as straight-line WGSL: every loop over blocks and rows is unrolled in TypeScript, so no
 * function-scope array is indexed dynamically (drivers may place such arrays in local memory) and every weight load
 * of an invocation is a separate statement issued before any decoding.
 */
function moeMlp1Unrolled(
  caps: GpuCaps,
  s: MoeShape,
  P: number,
  RP: number,
  bindings: BindingDecl[],
  params: KernelProgram['params'],
  lutC: number,
  half: boolean,
  lanes: boolean,
  rank: boolean,
  decode?: MoeDecodeVariant,
  fold = false,
): KernelProgram {
  const { H, I, E, k } = s;
  const FL = fold ? routerFoldLayout(E, H) : null;
  const routing = moeRouting(caps, E, k, rank, FL ? (i) => `foldLogit(tok, ${i})` : undefined);
  if (half) {
    bindings = bindings.map((b) =>
      b.name === 'xn' ? { ...b, type: 'array<vec4<u32>>' } : b.name === 'act' ? { ...b, type: 'array<u32>' } : b,
    );
  }
  const GB = H / 32;
  const NB = Math.ceil(GB / 32);
  const R = 2 * RP;
  const lines: string[] = [];
  // Output value of row pair q of the subgroup: i0 + q, or with lanes, vb + (q >> 1) + 4·(q & 1) so that the
  // subgroup holds the f16 pairs (i, i+4) whole.
  const value = (q: number) => (lanes ? `vb + ${(q >> 1) + 4 * (q & 1)}u` : `i0 + ${q}u`);
  for (let r = 0; r < R; r++) {
    lines.push(`let row${r} = 2u * min(${value(r >> 1)}, ${I - 1}u) + ${r & 1}u;`);
  }
  for (let j = 0; j < NB; j++) {
    const partial = 32 * (j + 1) > GB;
    lines.push(`let g${j} = ${partial ? `min(lane + ${32 * j}u, ${GB - 1}u)` : `lane + ${32 * j}u`};`);
    for (let r = 0; r < R; r++) {
      lines.push(`let w${r}_${j} = loadBlock(part, (lbase + row${r}) * ${GB}u + g${j});`);
    }
  }
  for (let j = 0; j < NB; j++) {
    const partial = 32 * (j + 1) > GB;
    for (let r = 0; r < R; r++) {
      const sc = `scaleAt((sbase + row${r}) * ${GB}u + g${j})`;
      lines.push(`let s${r}_${j} = ${partial ? `select(0.0, ${sc}, lane + ${32 * j}u < ${GB}u)` : sc};`);
    }
  }
  const nLoads = lines.length;
  for (let r = 0; r < R; r++) lines.push(`var a${r} = 0.0;`);
  for (let j = 0; j < NB; j++) {
    lines.push('{');
    if (FL) lines.push(`let xb = ${FL.hg / 4}u + tok * ${H / 4}u + 8u * g${j};`);
    else if (!half) lines.push(`let xb = xrow * ${H / 4}u + 8u * g${j};`);
    emitMxfp4BlockDot(lines, {
      j,
      rows: R,
      caps,
      lut: lutC > 0,
      halfPairs: half,
      decode,
      load: (q) =>
        FL
          ? half
            ? `hpack(fold[xb + ${2 * q}u], fold[xb + ${2 * q + 1}u], fsc)`
            : `fold[xb + ${q}u]`
          : half
            ? `xn[(xrow * ${GB}u + g${j}) * 4u + ${q}u]`
            : `xn[xb + ${q}u]`,
      x: 'x',
      half: 'h',
      acc: 'a',
    });
    lines.push('}');
  }
  lines.push(`var acc: array<f32, ${R}>;`);
  for (let r = 0; r < R; r++) lines.push(`acc[${r}] = a${r};`);
  // The accumulators a lane writes out, picked by selects on the lane (no dynamically indexed arrays).
  const pick = (n: number, idx: (q: number) => number) => {
    let e = `acc[${idx(0)}]`;
    for (let q = 1; q < n; q++) e = `select(${e}, acc[${idx(q)}], lane == ${q}u)`;
    return e;
  };
  const SPG = 8 / RP; // lanes: subgroups per 8-value group
  let tail: string;
  // The biases the tail adds are loaded with the weights (hoist): loaded after the reduction they would add a memory
  // round trip to every workgroup's finish.
  let hoist: string;
  if (lanes) {
    hoist = `let tr = e * ${2 * I}u + 2u * min(vb + lane, ${I - 1}u);
  let tb0 = bias[tr]; let tb1 = bias[tr + 1u]; let tb2 = bias[min(tr + 8u, ${E * 2 * I - 1}u)]; let tb3 = bias[min(tr + 9u, ${E * 2 * I - 1}u)];`;
    tail = `if (lane < ${RP / 2}u) {
    let i = vb + lane;
    if (i < ${I}u) {
      var v: vec2f;
      {
        ${swigluValue(`${pick(RP / 2, (q) => 4 * q)} * xsc + tb0`, `${pick(RP / 2, (q) => 4 * q + 1)} * xsc + tb1`, 'v.x')}
      }
      {
        ${swigluValue(`${pick(RP / 2, (q) => 4 * q + 2)} * xsc + tb2`, `${pick(RP / 2, (q) => 4 * q + 3)} * xsc + tb3`, 'v.y')}
      }
      act[(tok * ${k}u + slot) * ${I / 2}u + 4u * (i >> 3u) + (i & 3u)] = pack2x16float(v * p.actOut);
    }
  }`;
  } else {
    // One value per lane < RP: straight to act (f32), or to workgroup memory to be paired (f16 pairs).
    const dst = half ? `actS[(lid >> 5u) * ${RP}u + lane]` : `act[(tok * ${k}u + slot) * ${I}u + i]`;
    const ga = pick(RP, (q) => 2 * q);
    const la = pick(RP, (q) => 2 * q + 1);
    hoist = `let tr = e * ${2 * I}u + 2u * min(i0 + lane, ${I - 1}u);
  let tb0 = bias[tr]; let tb1 = bias[tr + 1u];`;
    tail = `if (lane < ${RP}u) {
    let i = i0 + lane;
    if (i < ${I}u) {
      ${swigluValue(`${ga} * xsc + tb0`, `${la} * xsc + tb1`, dst)}
    }
  }`;
  }
  if (half && !lanes) {
    tail += `
  // Values (i, i+4) of an 8-value group come from two subgroups: pair them up in workgroup memory. A workgroup's
  // ${8 * RP} values start at a multiple of 8 and I is one of 32, so an 8-value group is all valid or all past I.
  workgroupBarrier();
  if (lid < ${4 * RP}u) {
    let lo = ((lid >> 2u) << 3u) | (lid & 3u);
    if (wid.x * ${8 * RP}u + lo < ${I}u) {
      act[(tok * ${k}u + slot) * ${I / 2}u + wid.x * ${4 * RP}u + lid] = pack2x16float(vec2f(actS[lo], actS[lo + 4u]) * p.actOut);
    }
  }`;
  }
  return {
    name: 'moe_mlp1',
    cacheKey: `moe_mlp1t:H${H}:I${I}:E${E}:k${k}:P${P}:EP${s.expertsPerPart}:sg${+caps.subgroups32}:h${+caps.f16}:RP${RP}:lut${lutC}:ha${+half}${lanes ? 'L' : ''}:rr${+rank}${decodeKey(decode)}${fold ? ':fold' : ''}`,
    bindings,
    enables: enables(caps, true),
    params,
    meta: { pairsPerWorkgroup: 8 * RP },
    body: () => /* wgsl */ `
${MXFP4_HELPERS}
${caps.f16 ? MXFP4_F16_HELPERS : ''}
${caps.f16 && decode ? mxfp4F16Chain(!!decode.raw) : ''}
${lutC ? mxfp4LutHelpers(lutC) : ''}
${half ? HALF_PAIR_HELPERS + (caps.f16 ? HALF_PAIR_F16 : '') : ''}
${partLoader(P)}
${FL ? foldReadHelpers(caps, FL) : ''}
${FL && half ? HPACK : ''}
${routing.decl}
${groupReduce(caps, 'pair_sum', R, 32, 'add')}
${half && !lanes ? `var<workgroup> actS: array<f32, ${8 * RP}>;` : ''}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  ${lutC ? `fillLut(lid);
  let ll = lid & ${lutC - 1}u;` : ''}
  let tok = wid.y / ${k}u;
  let slot = wid.y % ${k}u;
  let xrow = p.xRow0 + tok;
  ${
    FL
      ? `// Router fold: 1/rms(h) from the out projection's Σh² partials, then the logits (the first workgroup of each
  // row also writes them for mlp2).
  finv = foldInv(lid, tok);
  if (wid.x == 0u && slot == 0u) { for (var i = lid; i < ${E}u; i += 256u) { logits[xrow * ${E}u + i] = foldLogit(tok, i); } }
  ${routing.call('tok')}
  ${half ? 'let fsc = finv * p.xnScale;' : ''}
  let xsc = p.xScale${half ? '' : ' * finv'};`
      : `${routing.call('xrow')}
  let xsc = p.xScale;`
  }
  let e = sel[slot];
  let part = e / ${s.expertsPerPart}u;
  let lbase = (e % ${s.expertsPerPart}u) * ${2 * I}u;
  let sbase = e * ${2 * I}u;
  let lane = lid & 31u;
  ${
    lanes
      ? `let sg = lid >> 5u;
  let vb = wid.x * ${8 * RP}u + 8u * (sg / ${SPG}u) + (sg % ${SPG}u) * ${RP / 2}u;`
      : `let i0 = (wid.x * 8u + (lid >> 5u)) * ${RP}u;`
  }
  ${lines.slice(0, nLoads).join('\n  ')}
  ${hoist}
  ${lines.slice(nLoads).join('\n  ')}
  pair_sum(&acc, lid);
  ${tail}
}`,
  };
}

/** g⊙h (f32, two vec4f of a block's 8-value group) times `s` as the f16 pairs of HALF_PAIR_HELPERS' layout. */
const HPACK = /* wgsl */ `
fn hpack(a: vec4f, b: vec4f, s: f32) -> vec4<u32> {
  return vec4<u32>(pack2x16float(vec2f(a.x, b.x) * s), pack2x16float(vec2f(a.y, b.y) * s),
    pack2x16float(vec2f(a.z, b.z) * s), pack2x16float(vec2f(a.w, b.w) * s));
}`;

/** Cache-key suffix of a decode variant ('' for the shipped decode). */
export function decodeKey(d: MoeDecodeVariant | undefined): string {
  return d ? `:dv${+!!d.raw}${d.chain ?? 1}${+!!d.xor}` : '';
}

/** WGSL statements storing the clamped SwiGLU of gate `g` and linear `l` (expressions) into `dst`. */
function swigluValue(g: string, l: string, dst: string): string {
  return `let gate = min(${g}, p.limit);
      let lin = clamp(${l}, -p.limit, p.limit);
      ${dst} = gate / (1.0 + exp(-p.alpha * gate)) * (lin + 1.0);`;
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
  a: MoeArgs & {
    xn: BufferRef;
    act: BufferRef;
    limit: number;
    /** Multiplier of the dot products (2^(15-k) for the raw decode of xn prescaled by 2^k); default 1. */
    xScale?: number;
    /** Multiplier of the f16-pair act written (2^k for mlp2's raw decode); default 1. */
    actOut?: number;
    /**
     * Programs with `fold`: the router fold's scratch (bound in xn's place; `xn` is then ignored), the router's bias,
     * the norm's epsilon and the f16 pairs' prescale (2^k, Layer.xnExp; 1 without the raw decode).
     */
    fold?: { scratch: BufferRef; routerBias: BufferRef; eps?: number; xnScale?: number };
  },
): void {
  const folded = program.bindings.some((b) => b.name === 'fold');
  if (folded !== !!a.fold) throw new KernelShapeError(`${program.name}: ${folded ? 'pass the router fold buffers' : 'this program does not fold the router'}`);
  if (a.fold && (a.xRow0 ?? 0) !== 0) throw new KernelShapeError(`${program.name}: the router fold serves rows from 0, got xRow0 ${a.xRow0}`);
  rec.dispatch(
    program,
    a.fold ? [...a.blocks, a.scales, a.bias, a.fold.scratch, a.logits, a.act, a.fold.routerBias] : [...a.blocks, a.scales, a.bias, a.xn, a.logits, a.act],
    {
      xRow0: a.xRow0 ?? 0,
      limit: a.limit,
      alpha: 1.702,
      xScale: a.xScale ?? 1,
      actOut: a.actOut ?? 1,
      ...(a.fold ? { eps: a.fold.eps ?? 1e-5, xnScale: a.fold.xnScale ?? 1 } : {}),
    },
    [Math.ceil(s.I / (program.name === 'moe_mlp1_rowwise' ? 64 : (program.meta?.pairsPerWorkgroup ?? 8 * PAIRS_PER_GROUP))), a.tokens * s.k],
  );
}
