import { KernelShapeError } from '../errors.js';
import type { BindingDecl, BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { BF16_HELPERS, enables, groupReduce, WG_INDEX } from '../wgsl.js';
import { routerFoldLayout } from './router-fold.js';

export interface GemvBf16Options {
  /** Reduction size (columns of W); a multiple of 8. */
  K: number;
  /** Input rows (tokens) handled per weight read; 1..8. */
  M: number;
  /** Fuse RMSNorm of x (gain `gain`, f32) in front: y = W·(x/rms(x)·gain). */
  norm?: boolean;
  /** Add `bias[row]` (f32). */
  bias?: boolean;
  /** Accumulate into `out` instead of overwriting it (fused residual add). */
  residual?: boolean;
  /** With `norm`: also store the normalised input rows (x/rms·gain) into `xnOut`, for a following kernel. */
  writeNormed?: boolean;
  /**
   * With `writeNormed`: store them as f16 pairs (HALF_PAIR_HELPERS in wgsl.ts: u32 4q+k of a row holds values
   * 8q+k and 8q+k+4), the MoE decode kernels' input on the fast path. GEMV, GPU shape only.
   */
  normedHalf?: boolean;
  /**
   * Rows per 256-invocation workgroup in the GPU shape: 8 (one subgroup per row; default) or 1 (the whole workgroup
   * on one row): for matrices of few rows such as the router's (32 or 128), so that more than 4 workgroups share the
   * work and an invocation has 1–2 loads instead of a dozen in sequence.
   */
  rowsPerWorkgroup?: 1 | 8;
  /**
   * @internal Benchmarks (GPU shape; results wrong): 'constX' reads no x (and no gain), 'xorW' widens and multiplies
   * no weights (XORs them), 'both': the loop streams the weights only. What each part of the kernel costs in place.
   */
  diag?: 'constX' | 'xorW' | 'both';
  /**
   * GPU shape: extra workgroups after the rows' read `ride` other buffers (bindings ride0.., as vec4<u32>; their XOR
   * goes to `rideSink`), so that a later small kernel finds them in L2 instead of waiting on DRAM.
   */
  ride?: number;
  /**
   * GPU shape, 8 rows per workgroup: the router folded into the decode step (router-fold.ts). 'base' (the QKV GEMV,
   * K = H): E extra workgroups write base = Wg·x + c into the scratch `fold`. 'out' (the out projection, residual and
   * bias on): E extra workgroups write num = base + Mo·x, and the row workgroups also write g⊙out (g: `mgain`) and
   * their Σout² over their rows.
   */
  fold?: { role: 'base' | 'out'; E: number; H: number };
}

const ROWS_PER_WG = 8;

/**
 * The bindings of the bf16 projection kernels (GEMV, tiled GEMM, subgroup-matrix GEMM), in the order `gemvBf16` /
 * `gemmBf16` bind them: w, x, [gain], [bias], out, [xnOut].
 */
export function denseBindings(o: Pick<GemvBf16Options, 'norm' | 'bias' | 'writeNormed' | 'normedHalf' | 'ride' | 'fold'>): BindingDecl[] {
  const bindings: BindingDecl[] = [
    { name: 'w', type: 'array<vec4<u32>>', access: 'read' },
    { name: 'x', type: 'array<vec4f>', access: 'read' },
  ];
  if (o.norm) bindings.push({ name: 'gain', type: 'array<vec4f>', access: 'read' });
  if (o.bias) bindings.push({ name: 'bias', type: 'array<f32>', access: 'read' });
  bindings.push({ name: 'out', type: 'array<f32>', access: 'read_write' });
  if (o.writeNormed && o.norm) {
    bindings.push({ name: 'xnOut', type: o.normedHalf ? 'array<u32>' : 'array<vec4f>', access: 'read_write' });
  }
  for (let i = 0; i < (o.ride ?? 0); i++) bindings.push({ name: `ride${i}`, type: 'array<vec4<u32>>', access: 'read' });
  if (o.ride) bindings.push({ name: 'rideSink', type: 'array<u32>', access: 'read_write' });
  if (o.fold?.role === 'base') bindings.push({ name: 'wgc', type: 'array<vec4f>', access: 'read' });
  if (o.fold?.role === 'out') {
    bindings.push({ name: 'mgain', type: 'array<f32>', access: 'read' }, { name: 'mo', type: 'array<vec4f>', access: 'read' });
  }
  if (o.fold) bindings.push({ name: 'fold', type: 'array<f32>', access: 'read_write' });
  return bindings;
}

/**
 * y[m, outOffset + r] (+)= Σ_k W[r, k]·x[m, k] (+ bias[r]) for the rows r of one weight part. W is bf16 row-major,
 * read as vec4<u32> (8 weights per load) and widened in registers; one subgroup-sized group of 32 invocations per
 * row, 8 rows per workgroup.
 */
export function gemvBf16Program(caps: GpuCaps, o: GemvBf16Options): KernelProgram {
  const { K, M } = o;
  if (K % 8 !== 0) throw new KernelShapeError(`gemvBf16: K must be a multiple of 8, got ${K}`);
  if (M < 1 || M > 8) throw new KernelShapeError(`gemvBf16: M must be 1..8, got ${M}`);
  const bindings = denseBindings(o);
  const wn = !!(o.writeNormed && o.norm);
  const wh = wn && !!o.normedHalf;
  const KV = K / 8;
  if (caps.cpuLike) {
    if (wh) throw new KernelShapeError('gemvBf16: normedHalf needs the GPU kernel shape');
    return gemvRowPerInvocation(o, bindings);
  }
  const RW = o.rowsPerWorkgroup ?? ROWS_PER_WG;
  if (RW !== 1 && RW !== ROWS_PER_WG) throw new KernelShapeError(`gemvBf16: rowsPerWorkgroup must be 1 or 8, got ${RW}`);
  const F = o.fold;
  if (F) {
    if (RW !== ROWS_PER_WG || o.ride || wn || o.diag) throw new KernelShapeError('gemvBf16: the router fold needs 8 rows per workgroup, without ride, writeNormed or diag');
    if (F.role === 'base' && (K !== F.H || !o.norm)) throw new KernelShapeError(`gemvBf16: the fold's base rides the normed QKV GEMV (K = H = ${F.H}), got K=${K}`);
    if (F.role === 'out' && !(o.residual && o.bias)) throw new KernelShapeError("gemvBf16: the fold's 'out' role needs residual and bias");
  }
  const FL = F ? routerFoldLayout(F.E, F.H) : null;
  const LPR = 256 / RW; // invocations per row
  const key = `gemv_bf16t:K${K}:M${M}:n${+!!o.norm}b${+!!o.bias}r${+!!o.residual}w${+wn}${wh ? 'h' : ''}:sg${+caps.subgroups32}:R${RW}${o.diag ? `:${o.diag}` : ''}${o.ride ? `:ride${o.ride}` : ''}${F ? `:fold-${F.role}-E${F.E}-H${F.H}` : ''}`;
  const NA = o.norm ? 2 * M : M;
  // The normalised rows (writeNormed) are written by all workgroups, a slice each, after their own dot products.
  const XW = wh ? K / 2 : K / 4;
  return {
    name: 'gemv_bf16',
    cacheKey: key,
    bindings,
    enables: enables(caps),
    params: PARAMS,
    meta: { rowsPerWorkgroup: RW, ...(F ? { foldExperts: F.E } : {}) },
    body: () => /* wgsl */ `
${BF16_HELPERS}
${WG_INDEX}
${groupReduce(caps, 'row_sum', NA, LPR, 'add')}
${FL ? `var<workgroup> foldS: array<f32, ${8 * M}>;` : ''}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${F && FL ? foldExtraWgs(F.role, FL, K, M, NA) : ''}
  ${
    o.ride
      ? `{
    let nwMain = (p.rows + ${RW - 1}u) / ${RW}u;
    let g = wgIndex(wid, nwg);
    if (g >= nwMain) {
      let i = (g - nwMain) * 256u + lid;
      var a = 0u;
      ${Array.from({ length: o.ride }, (_, k) => `if (i < arrayLength(&ride${k})) { let v = ride${k}[i]; a ^= v.x ^ v.y ^ v.z ^ v.w; }`).join('\n      ')}
      if (i < arrayLength(&rideSink)) { rideSink[i] = a; }
      return;
    }
  }`
      : ''
  }
  let row = wgIndex(wid, nwg) * ${RW}u + ${RW === 1 ? '0u' : '(lid >> 5u)'};
  let lane = ${RW === 1 ? 'lid' : 'lid & 31u'};
  let valid = row < p.rows;
  let r = min(row, p.rows - 1u);
  // acc[m]: the dot product of row r with x[m]·gain; acc[M + m] (norm): Σ x[m]², since the 32 invocations of a row
  // read all of x[m] anyway — so the RMSNorm costs no prologue pass and no barrier before the first weight load.
  var acc: array<f32, ${NA}>;
  // What the tail adds (bias, residual) is loaded first: issued at the end, after the reduction, each would add a
  // memory round trip to every workgroup's finish, and a dispatch ends with its last workgroup.
  ${o.bias ? 'let tb = bias[p.biasOffset + r];' : ''}
  ${F?.role === 'out' ? 'let tg = mgain[r];' : ''}
  ${o.residual ? `var tx: array<f32, ${M}>;
  for (var m = 0u; m < ${M}u; m++) { tx[m] = out[m * p.outStride + p.outOffset + r]; }` : ''}
  ${
    wh
      ? `// The first f16 pair this invocation writes out (below), loaded now for the same reason.
  let cf = min(wgIndex(wid, nwg) * ((${XW}u + (p.rows + ${RW - 1}u) / ${RW}u - 1u) / ((p.rows + ${RW - 1}u) / ${RW}u)) + lid, ${XW - 1}u);
  var hlo: array<f32, ${M}>;
  var hhi: array<f32, ${M}>;
  for (var m = 0u; m < ${M}u; m++) {
    let v = 2u * (cf >> 2u);
    let xi = (p.xRow0 + m) * ${K / 4}u + v;
    hlo[m] = x[xi][cf & 3u] * gain[v][cf & 3u];
    hhi[m] = x[xi + 1u][cf & 3u] * gain[v + 1u][cf & 3u];
  }`
      : ''
  }
  for (var c = lane; c < ${KV}u; c += ${LPR}u) {
    let wv = w[r * ${KV}u + c];
    ${dotBody(o, M, K)}
  }
  row_sum(&acc, lid);
  ${
    wn
      ? `let nw = (p.rows + ${RW - 1}u) / ${RW}u;
  let slice = (${XW}u + nw - 1u) / nw;
  let c0 = wgIndex(wid, nwg) * slice;
  let c1 = min(c0 + slice, ${XW}u);
  if (wgIndex(wid, nwg) < nw) {
    for (var m = 0u; m < ${M}u; m++) {
      let inv = inverseSqrt(acc[${M}u + m] / ${K}.0 + p.eps);
      ${
        wh
          ? `for (var c = c0 + lid; c < c1; c += 256u) {
        // u32 c = 4q + k holds values 8q+k (vec4 2q, lane k) and 8q+k+4 (vec4 2q+1, lane k).
        let v = 2u * (c >> 2u);
        let xi = (p.xRow0 + m) * ${K / 4}u + v;
        var lo = hlo[m];
        var hi = hhi[m];
        if (c != cf) {
          lo = x[xi][c & 3u] * gain[v][c & 3u];
          hi = x[xi + 1u][c & 3u] * gain[v + 1u][c & 3u];
        }
        xnOut[(p.xRow0 + m) * ${K / 2}u + c] = pack2x16float(vec2f(lo, hi) * (inv * p.xnScale));
      }`
          : `for (var c = c0 + lid; c < c1; c += 256u) {
        let xi = (p.xRow0 + m) * ${K / 4}u + c;
        xnOut[xi] = x[xi] * gain[c] * inv;
      }`
      }
    }
  }`
      : ''
  }
  ${
    F?.role === 'out' && FL
      ? `// Router fold: g⊙h for mlp1 and this workgroup's Σh² (rows past the end count 0).
  if (lane == 0u) {
    for (var m = 0u; m < ${M}u; m++) {
      var hh = 0.0;
      if (valid) {
        hh = tx[m] + acc[m] + tb;
        out[m * p.outStride + p.outOffset + row] = hh;
        fold[${FL.hg}u + m * ${FL.H}u + row] = hh * tg;
      }
      foldS[m * 8u + (lid >> 5u)] = hh * hh;
    }
  }
  workgroupBarrier();
  if (lid < ${M}u) {
    var t = 0.0;
    for (var i = 0u; i < 8u; i++) { t += foldS[lid * 8u + i]; }
    fold[${FL.sq}u + lid * ${FL.nsq}u + wgIndex(wid, nwg)] = t;
  }`
      : `if (valid && lane == 0u) {
    for (var m = 0u; m < ${M}u; m++) {
      var v = acc[m]${o.norm ? ` * inverseSqrt(acc[${M}u + m] / ${K}.0 + p.eps)` : ''};
      ${o.bias ? 'v += tb;' : ''}
      let oi = m * p.outStride + p.outOffset + row;
      ${o.residual ? 'out[oi] = tx[m] + v;' : 'out[oi] = v;'}
    }
  }`
  }
}`,
  };
}

/**
 * The router fold's extra workgroups (one per expert, after the row workgroups): 'base' = Wg·x + c (the QKV GEMV's
 * x, before the out projection overwrites it), 'out' = base + Mo·x (x: the attention output). Their reduction reuses
 * row_sum (32 invocations) and then the 8 subgroups' sums meet in foldS.
 */
function foldExtraWgs(role: 'base' | 'out', L: ReturnType<typeof routerFoldLayout>, K: number, M: number, NA: number): string {
  const wrow = role === 'base' ? `wgc[e * ${K / 4}u + c]` : `mo[e * ${K / 4}u + c]`;
  const add =
    role === 'base'
      ? `let ci = ${L.E * L.H}u + e;
      fold[${L.base}u + lid * ${L.E}u + e] = t + wgc[ci >> 2u][ci & 3u];`
      : `fold[${L.num}u + lid * ${L.E}u + e] = t + fold[${L.base}u + lid * ${L.E}u + e];`;
  return `{
    let nwMain = (p.rows + 7u) / 8u;
    let g = wgIndex(wid, nwg);
    if (g >= nwMain) {
      let e = g - nwMain;
      var fa: array<f32, ${NA}>;
      for (var c = lid; c < ${K / 4}u; c += 256u) {
        let wv = ${wrow};
        for (var m = 0u; m < ${M}u; m++) { fa[m] += dot(wv, x[(p.xRow0 + m) * ${K / 4}u + c]); }
      }
      row_sum(&fa, lid);
      if ((lid & 31u) == 0u) { for (var m = 0u; m < ${M}u; m++) { foldS[m * 8u + (lid >> 5u)] = fa[m]; } }
      workgroupBarrier();
      if (lid < ${M}u) {
        var t = 0.0;
        for (var i = 0u; i < 8u; i++) { t += foldS[lid * 8u + i]; }
        ${add}
      }
      return;
    }
  }`;
}

/** The K loop's body of the GPU-shape GEMV (with the benchmark diagnostics of GemvBf16Options.diag). */
function dotBody(o: GemvBf16Options, M: number, K: number): string {
  const constX = o.diag === 'constX' || o.diag === 'both';
  const xorW = o.diag === 'xorW' || o.diag === 'both';
  const gains = o.norm && !constX ? 'let ga = gain[2u * c]; let gb = gain[2u * c + 1u];' : o.norm ? 'let ga = vec4f(1.0); let gb = ga;' : '';
  const xs = constX
    ? 'let xa = vec4f(f32(c)); let xb = xa;'
    : `let xi = (p.xRow0 + m) * ${K / 4}u + 2u * c;
      let xa = x[xi];
      let xb = x[xi + 1u];`;
  const prod = xorW
    ? 'bitcast<f32>(((wv.x ^ wv.y ^ wv.z ^ wv.w) & 0x007fffffu) | 0x3f800000u) + (xa.x + xa.y + xa.z + xa.w) + (xb.x + xb.y + xb.z + xb.w)'
    : `dot(wa, xa${o.norm ? ' * ga' : ''}) + dot(wb, xb${o.norm ? ' * gb' : ''})`;
  return `${xorW ? '' : 'let wa = bf8lo(wv); let wb = bf8hi(wv);'}
    ${gains}
    for (var m = 0u; m < ${M}u; m++) {
      ${xs}
      acc[m] += ${prod};
      ${o.norm ? `acc[${M}u + m] += dot(xa, xa) + dot(xb, xb);` : ''}
    }`;
}

const PARAMS = [
  ['rows', 'u32'],
  ['biasOffset', 'u32'],
  ['outOffset', 'u32'],
  ['outStride', 'u32'],
  ['xRow0', 'u32'],
  ['eps', 'f32'],
  // f16-pair normalised rows are written times xnScale (a power of two: prescaled for the MoE kernels' raw decode).
  ['xnScale', 'f32'],
] as const;

/** CPU-rasteriser shape: one invocation per row, 64 rows per workgroup, no barriers. */
function gemvRowPerInvocation(o: GemvBf16Options, bindings: BindingDecl[]): KernelProgram {
  const { K, M } = o;
  const KV = K / 8;
  return {
    name: 'gemv_bf16_rowwise',
    cacheKey: `gemv_bf16_rowwise:K${K}:M${M}:n${+!!o.norm}b${+!!o.bias}r${+!!o.residual}w${+!!(o.writeNormed && o.norm)}`,
    bindings,
    params: PARAMS,
    body: () => /* wgsl */ `
${BF16_HELPERS}
${WG_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wgIndex(wid, nwg) * ${ROWS_PER_WG_ROWWISE}u + lid;
  if (row >= p.rows) { return; }
  for (var m = 0u; m < ${M}u; m++) {
    let xb = (p.xRow0 + m) * ${K / 4}u;
    var inv = 1.0;
    ${
      o.norm
        ? `var ss = 0.0;
    for (var c = 0u; c < ${K / 4}u; c++) { let v = x[xb + c]; ss += dot(v, v); }
    inv = inverseSqrt(ss / ${K}.0 + p.eps);
    ${o.writeNormed ? `if (row == 0u) { for (var c = 0u; c < ${K / 4}u; c++) { xnOut[xb + c] = x[xb + c] * gain[c] * inv; } }` : ''}`
        : ''
    }
    var acc = 0.0;
    for (var c = 0u; c < ${KV}u; c++) {
      let wv = w[row * ${KV}u + c];
      acc += dot(bf8lo(wv), x[xb + 2u * c]${o.norm ? ' * gain[2u * c]' : ''});
      acc += dot(bf8hi(wv), x[xb + 2u * c + 1u]${o.norm ? ' * gain[2u * c + 1u]' : ''});
    }
    var v = acc * inv;
    ${o.bias ? 'v += bias[p.biasOffset + row];' : ''}
    let oi = m * p.outStride + p.outOffset + row;
    ${o.residual ? 'out[oi] += v;' : 'out[oi] = v;'}
  }
}`,
  };
}

const ROWS_PER_WG_ROWWISE = 64;

/** One weight part: rows [rowStart, rowStart+rows) of a bf16 matrix, stored in its own buffer. */
export interface WeightPart {
  buffer: GPUBuffer;
  rowStart: number;
  rows: number;
}

export interface GemvArgs {
  parts: readonly WeightPart[];
  x: BufferRef;
  /** First input row to use (the M rows xRow0..xRow0+M-1 are read). */
  xRow0?: number;
  gain?: BufferRef;
  bias?: BufferRef;
  out: BufferRef;
  /** Where `writeNormed` programs store x/rms·gain (rows like x). */
  xnOut?: BufferRef;
  /** Output row of the first input row (default 0). */
  outRow0?: number;
  /** Elements between consecutive output rows (default: total rows). */
  outStride: number;
  eps?: number;
  /** Multiplier of the f16-pair normalised rows (normedHalf; a power of two); default 1. */
  xnScale?: number;
  /** Programs with `ride`: the buffers read ahead and the sink for their XOR (one u32 per extra invocation). */
  ride?: { buffers: readonly GPUBuffer[]; sink: GPUBuffer };
  /**
   * Programs with `fold` (router-fold.ts): the scratch, and the role's weights: 'base' [Wg | c] (`wgc`), 'out' the
   * MLP norm's gain and Mo. Weights in one part; rows from 0.
   */
  fold?: { scratch: BufferRef; wgc?: BufferRef; mlpGain?: BufferRef; mo?: BufferRef };
}

/** Records one dispatch per weight part. */
export function gemvBf16(rec: StepRecorder, program: KernelProgram, a: GemvArgs): void {
  for (const part of a.parts) {
    const bufs: BufferRef[] = [part.buffer, a.x];
    if (a.gain) bufs.push(a.gain);
    if (a.bias) bufs.push(a.bias);
    bufs.push(a.out);
    if (program.bindings.some((b) => b.name === 'xnOut')) {
      if (!a.xnOut) throw new KernelShapeError(`${program.name}: this program writes normalised rows; pass xnOut`);
      bufs.push(a.xnOut);
    }
    let foldWgs = 0;
    const foldRole = program.bindings.some((b) => b.name === 'wgc') ? 'base' : program.bindings.some((b) => b.name === 'mo') ? 'out' : null;
    if (foldRole) {
      const f = a.fold;
      if (!f || (foldRole === 'base' ? !f.wgc : !f.mlpGain || !f.mo)) throw new KernelShapeError(`${program.name}: pass the router fold's buffers (${foldRole})`);
      if (a.parts.length !== 1 || (a.outRow0 ?? 0) !== 0) throw new KernelShapeError(`${program.name}: the router fold needs one weight part and rows from 0`);
      bufs.push(...(foldRole === 'base' ? [f.wgc!] : [f.mlpGain!, f.mo!]), f.scratch);
      foldWgs = program.meta?.foldExperts ?? 0;
    }
    const rides = program.bindings.filter((b) => b.name.startsWith('ride') && b.name !== 'rideSink').length;
    let rideWgs = 0;
    if (rides) {
      if (a.ride?.buffers.length !== rides) throw new KernelShapeError(`${program.name}: pass ${rides} buffers to read ahead`);
      bufs.push(...a.ride.buffers, a.ride.sink);
      rideWgs = Math.ceil(Math.max(...a.ride.buffers.map((b) => b.size / 16)) / 256);
    }
    rec.dispatch(
      program,
      bufs,
      {
        rows: part.rows,
        biasOffset: part.rowStart,
        outOffset: (a.outRow0 ?? 0) * a.outStride + part.rowStart,
        outStride: a.outStride,
        xRow0: a.xRow0 ?? 0,
        eps: a.eps ?? 1e-5,
        xnScale: a.xnScale ?? 1,
      },
      Math.ceil(part.rows / (program.name === 'gemv_bf16_rowwise' ? ROWS_PER_WG_ROWWISE : (program.meta?.rowsPerWorkgroup ?? ROWS_PER_WG))) + rideWgs + foldWgs,
    );
  }
}
