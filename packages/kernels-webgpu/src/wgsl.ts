/**
 * Small WGSL template helpers shared by the kernels. Each returns WGSL source text; kernels paste the ones they
 * need so that every shader stays self-contained.
 */
import type { GpuCaps } from './gpu.js';

/** bf16 pair in a u32 (element 2j in the low half) to two f32, and eight bf16 in a vec4<u32> to two vec4f. */
export const BF16_HELPERS = /* wgsl */ `
fn bf2(u: u32) -> vec2f { return vec2f(bitcast<f32>(u << 16u), bitcast<f32>(u & 0xffff0000u)); }
fn bf8lo(w: vec4<u32>) -> vec4f { return vec4f(bf2(w.x), bf2(w.y)); }
fn bf8hi(w: vec4<u32>) -> vec4f { return vec4f(bf2(w.z), bf2(w.w)); }
`;

/**
 * MXFP4: a block of 32 values is one vec4<u32> (nibble i of word q is value 8q+i) and one E8M0 byte. fp4x2 returns
 * twice the E2M1 value (so that the table fits in a u32: 0,1,2,3,4,6,8,12); e8m0Half folds the 1/2 back in.
 */
export const MXFP4_HELPERS = /* wgsl */ `
fn fp4x2(n: u32) -> f32 {
  let mag = f32((0xC8643210u >> ((n & 7u) << 2u)) & 0xFu);
  return select(mag, -mag, (n & 8u) != 0u);
}
fn fp4dot8(w: u32, a: vec4f, b: vec4f) -> f32 {
  let lo = vec4f(fp4x2(w), fp4x2(w >> 4u), fp4x2(w >> 8u), fp4x2(w >> 12u));
  let hi = vec4f(fp4x2(w >> 16u), fp4x2(w >> 20u), fp4x2(w >> 24u), fp4x2(w >> 28u));
  return dot(lo, a) + dot(hi, b);
}
fn e8m0Half(s: u32) -> f32 { return bitcast<f32>(s << 23u) * 0.5; }
fn scaleAt(i: u32) -> f32 { return e8m0Half((scales[i >> 2u] >> ((i & 3u) << 3u)) & 0xFFu); }
`;

/**
 * Router prologue for MoE kernels: top-k of the E logits of one token (ties → lower expert index, as Metal does),
 * then softmax over the k selected, into workgroup memory `sel` / `selw`. Rank counting keeps it one barrier deep.
 */
export function routePrologue(E: number, k: number, logit: (i: string) => string = (i) => `logits[tok * ${E}u + ${i}]`): string {
  return /* wgsl */ `
var<workgroup> lg: array<f32, ${E}>;
var<workgroup> sel: array<u32, ${k}>;
var<workgroup> selw: array<f32, ${k}>;
fn route(lid: u32, tok: u32) {
  for (var i = lid; i < ${E}u; i += 256u) { lg[i] = ${logit('i')}; }
  workgroupBarrier();
  for (var i = lid; i < ${E}u; i += 256u) {
    let v = lg[i];
    var rank = 0u;
    for (var j = 0u; j < ${E}u; j++) {
      let u = lg[j];
      rank += select(0u, 1u, u > v || (u == v && j < i));
    }
    if (rank < ${k}u) { sel[rank] = i; }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let mx = lg[sel[0]];
    var z = 0.0;
    for (var r = 0u; r < ${k}u; r++) { let e = exp(lg[sel[r]] - mx); selw[r] = e; z += e; }
    for (var r = 0u; r < ${k}u; r++) { selw[r] = selw[r] / z; }
  }
  workgroupBarrier();
}`;
}

/**
 * The router prologue on subgroups of 32 (fast path): every subgroup picks the top-k itself — lane l holds the logits
 * of experts l, l+32, ..., and k rounds of subgroupMax / subgroupMin (lowest index among the maxima) take them out in
 * order — then the softmax over the k, into the caller's function-scope `sel` / `selw`. No workgroup memory and no
 * barrier (routePrologue needs three). Same ties rule: the lower expert index first.
 */
export function routeSubgroupFn(E: number, k: number, logit: (i: string) => string = (i) => `logits[tok * ${E}u + ${i}]`): string {
  const NQ = Math.ceil(E / 32);
  const qs = Array.from({ length: NQ }, (_, q) => q);
  const rounds: string[] = [];
  for (let r = 0; r < k; r++) {
    rounds.push(`{
    var bv = v0;
    var bi = lane;
    ${qs.slice(1).map((q) => `if (v${q} > bv) { bv = v${q}; bi = lane + ${32 * q}u; }`).join(' ')}
    let m = subgroupMax(bv);
    let w = subgroupMin(select(0xffffffffu, bi, bv == m));
    (*sel)[${r}] = w;
    mx[${r}] = m;
    if ((w & 31u) == lane) { ${qs.map((q) => `if ((w >> 5u) == ${q}u) { v${q} = -3.4e38; }`).join(' ')} }
  }`);
  }
  return /* wgsl */ `
fn routeSg(lane: u32, tok: u32, sel: ptr<function, array<u32, ${k}>>, selw: ptr<function, array<f32, ${k}>>) {
  ${qs.map((q) => `var v${q} = select(-3.4e38, ${logit(`min(lane + ${32 * q}u, ${E - 1}u)`)}, lane + ${32 * q}u < ${E}u);`).join('\n  ')}
  var mx: array<f32, ${k}>;
  ${rounds.join('\n  ')}
  var z = 0.0;
  for (var r = 0u; r < ${k}u; r++) { let e = exp(mx[r] - mx[0]); (*selw)[r] = e; z += e; }
  for (var r = 0u; r < ${k}u; r++) { (*selw)[r] = (*selw)[r] / z; }
}`;
}

/**
 * Module-scope routing code for the MoE decode kernels, and the call that fills `sel` / `selw` in `main` (`rank`:
 * routePrologue even where subgroups of 32 exist; benchmarks).
 */
export function moeRouting(
  caps: GpuCaps,
  E: number,
  k: number,
  rank = false,
  /** The logit of expert `i` (a WGSL expression; `tok` is in scope); default: the router GEMV's `logits` binding. */
  logit?: (i: string) => string,
): { decl: string; call: (tok: string) => string } {
  if (caps.subgroups32 && !rank) {
    return {
      decl: routeSubgroupFn(E, k, logit),
      call: (tok) => `var sel: array<u32, ${k}>;
  var selw: array<f32, ${k}>;
  routeSg(lid & 31u, ${tok}, &sel, &selw);`,
    };
  }
  return { decl: routePrologue(E, k, logit), call: (tok) => `route(lid, ${tok});` };
}

/** Reads vec4<u32> `idx` of expert-range part `part` (bindings blocks0..blocks{P-1}). */
export function partLoader(P: number): string {
  if (P === 1) return 'fn loadBlock(part: u32, idx: u32) -> vec4<u32> { return blocks0[idx]; }';
  const cases = Array.from({ length: P - 1 }, (_, i) => `if (part == ${i}u) { return blocks${i}[idx]; }`).join(' else ');
  return `fn loadBlock(part: u32, idx: u32) -> vec4<u32> { ${cases} return blocks${P - 1}[idx]; }`;
}

/**
 * MXFP4 decode with f16 bit tricks (fast path, `enable f16`): the 3 magnitude bits of an e2m1 nibble placed at f16
 * bits 9..11 and its sign at bit 15 give exactly value·2^-14 (e2m1's subnormal 0.5 lands on an f16 subnormal), two
 * nibbles per u32 half-pair, rescaled by 2^15 (twice the value, like fp4x2, so e8m0Half applies) and multiplied in pairs (vec2<f16>): ~3 instructions per weight instead of
 * ~8 for the f32 table. Pair k of a word holds values (k, k+4); x pairs must be arranged the same way (x8h).
 */
export const MXFP4_F16_HELPERS = /* wgsl */ `
fn fp4h(bits: u32) -> vec2<f16> {
  return bitcast<vec2<f16>>(bits) * vec2<f16>(32768.0h, 32768.0h);
}
fn fp4dot8h(w: u32, x: array<vec2<f16>, 4>) -> f32 {
  let a = w & 0x77777777u;
  let s = w & 0x88888888u;
  var acc = fp4h(((a << 9u) & 0x0E000E00u) | ((s << 12u) & 0x80008000u)) * x[0];
  acc = fma(fp4h(((a << 5u) & 0x0E000E00u) | ((s << 8u) & 0x80008000u)), x[1], acc);
  acc = fma(fp4h(((a << 1u) & 0x0E000E00u) | ((s << 4u) & 0x80008000u)), x[2], acc);
  acc = fma(fp4h(((a >> 3u) & 0x0E000E00u) | (s & 0x80008000u)), x[3], acc);
  return f32(acc.x) + f32(acc.y);
}
fn x8h(a: vec4f, b: vec4f) -> array<vec2<f16>, 4> {
  let ah = vec4<f16>(a);
  let bh = vec4<f16>(b);
  return array<vec2<f16>, 4>(vec2<f16>(ah.x, bh.x), vec2<f16>(ah.y, bh.y), vec2<f16>(ah.z, bh.z), vec2<f16>(ah.w, bh.w));
}
`;

/**
 * @internal Benchmarks: variants of the f16 nibble decode (MoeProgramOptions.decode). `raw`: the pairs are used as
 * decoded (value·2^-14), without the 2^15 rescale per pair; `fq(w, x)` / `fqAcc(w, x, acc)` add one weight word's
 * four products into a vec2<f16> chain, `hsum` ends a chain in f32.
 */
export function mxfp4F16Chain(raw: boolean): string {
  const sc = raw ? '' : ' * vec2<f16>(32768.0h, 32768.0h)';
  return /* wgsl */ `
fn fq0(w: u32) -> vec2<f16> { return bitcast<vec2<f16>>(((w << 9u) & 0x0E000E00u) | ((w << 12u) & 0x80008000u))${sc}; }
fn fq1(w: u32) -> vec2<f16> { return bitcast<vec2<f16>>(((w << 5u) & 0x0E000E00u) | ((w << 8u) & 0x80008000u))${sc}; }
fn fq2(w: u32) -> vec2<f16> { return bitcast<vec2<f16>>(((w << 1u) & 0x0E000E00u) | ((w << 4u) & 0x80008000u))${sc}; }
fn fq3(w: u32) -> vec2<f16> { return bitcast<vec2<f16>>(((w >> 3u) & 0x0E000E00u) | (w & 0x80008000u))${sc}; }
fn fqAcc(w: u32, x: array<vec2<f16>, 4>, acc: vec2<f16>) -> vec2<f16> {
  var a = fma(fq0(w), x[0], acc);
  a = fma(fq1(w), x[1], a);
  a = fma(fq2(w), x[2], a);
  return fma(fq3(w), x[3], a);
}
fn fq(w: u32, x: array<vec2<f16>, 4>) -> vec2<f16> {
  var a = fq0(w) * x[0];
  a = fma(fq1(w), x[1], a);
  a = fma(fq2(w), x[2], a);
  return fma(fq3(w), x[3], a);
}
fn hsum(v: vec2<f16>) -> f32 { return f32(v.x) + f32(v.y); }
`;
}

/**
 * Activations as f16 pairs, the MoE decode kernels' inputs on the fast path: the 8 values of MXFP4 weight word q
 * (values 8q..8q+7 of a row) are one vec4<u32> whose component k holds values (8q+k, 8q+k+4) as two f16
 * (pack2x16float) — the pairing the f16 nibble decode produces. Half the bytes of f32 activations, and the consumer
 * converts nothing (bench/RESULTS.md, session 9: mlp1 626 → 468 µs, mlp2 438 → 303 µs per 20b step).
 * `xh4` gives the f16 pairs (needs `enable f16`); `xpLo`/`xpHi` the values 8q..8q+3 / 8q+4..8q+7 as f32 (core WGSL).
 */
export const HALF_PAIR_HELPERS = /* wgsl */ `
fn xpLo(v: vec4<u32>) -> vec4f {
  return vec4f(unpack2x16float(v.x).x, unpack2x16float(v.y).x, unpack2x16float(v.z).x, unpack2x16float(v.w).x);
}
fn xpHi(v: vec4<u32>) -> vec4f {
  return vec4f(unpack2x16float(v.x).y, unpack2x16float(v.y).y, unpack2x16float(v.z).y, unpack2x16float(v.w).y);
}
`;
export const HALF_PAIR_F16 = /* wgsl */ `
fn xh4(v: vec4<u32>) -> array<vec2<f16>, 4> {
  return array<vec2<f16>, 4>(bitcast<vec2<f16>>(v.x), bitcast<vec2<f16>>(v.y), bitcast<vec2<f16>>(v.z), bitcast<vec2<f16>>(v.w));
}
`;

/** Linear workgroup index for dispatches folded into y (see StepRecorder.dispatch). */
export const WG_INDEX = /* wgsl */ `
fn wgIndex(wid: vec3u, nwg: vec3u) -> u32 { return wid.x + wid.y * nwg.x; }
`;

/** Enables for the fast path. */
export function enables(caps: GpuCaps, f16 = false): string[] {
  const e = caps.subgroups32 ? ['subgroups'] : [];
  if (f16 && caps.f16) e.push('f16');
  return e;
}

/**
 * Sum (or max) over groups of `group` consecutive invocations of a 256-wide workgroup, for `n` values per
 * invocation held in `v: array<f32, n>`. The result is valid in every invocation of the group. Must be called from
 * uniform control flow. Uses subgroup ops when the group is exactly one subgroup of 32, a shared tree otherwise.
 */
export function groupReduce(
  caps: GpuCaps,
  fnName: string,
  n: number,
  group: number,
  op: 'add' | 'max',
  wg = 256,
): string {
  if (caps.subgroups32 && group === 32) {
    const sg = op === 'add' ? 'subgroupAdd' : 'subgroupMax';
    return /* wgsl */ `
fn ${fnName}(v: ptr<function, array<f32, ${n}>>, lid: u32) {
  for (var i = 0u; i < ${n}u; i++) { (*v)[i] = ${sg}((*v)[i]); }
}`;
  }
  if (caps.subgroups32 && group % 32 === 0 && group <= wg) {
    // Subgroup op, then the group's subgroup partials through workgroup memory: two barriers.
    const sg = op === 'add' ? 'subgroupAdd' : 'subgroupMax';
    const S = wg / 32;
    const per = group / 32;
    return /* wgsl */ `
var<workgroup> ${fnName}_buf: array<f32, ${S * n}>;
fn ${fnName}(v: ptr<function, array<f32, ${n}>>, lid: u32) {
  for (var i = 0u; i < ${n}u; i++) { (*v)[i] = ${sg}((*v)[i]); }
  if ((lid & 31u) == 0u) { for (var i = 0u; i < ${n}u; i++) { ${fnName}_buf[i * ${S}u + (lid >> 5u)] = (*v)[i]; } }
  workgroupBarrier();
  let base = (lid / ${group}u) * ${per}u;
  for (var i = 0u; i < ${n}u; i++) {
    var a = ${fnName}_buf[i * ${S}u + base];
    for (var s = 1u; s < ${per}u; s++) { a = ${op === 'add' ? 'a + ' : 'max(a, '}${fnName}_buf[i * ${S}u + base + s]${op === 'add' ? '' : ')'}; }
    (*v)[i] = a;
  }
  workgroupBarrier();
}`;
  }
  const comb = op === 'add' ? 'a + b' : 'max(a, b)';
  return /* wgsl */ `
var<workgroup> ${fnName}_buf: array<f32, ${wg * n}>;
fn ${fnName}_op(a: f32, b: f32) -> f32 { return ${comb}; }
fn ${fnName}(v: ptr<function, array<f32, ${n}>>, lid: u32) {
  for (var i = 0u; i < ${n}u; i++) { ${fnName}_buf[i * ${wg}u + lid] = (*v)[i]; }
  let lane = lid % ${group}u;
  for (var s = ${group / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lane < s) {
      for (var i = 0u; i < ${n}u; i++) {
        ${fnName}_buf[i * ${wg}u + lid] = ${fnName}_op(${fnName}_buf[i * ${wg}u + lid], ${fnName}_buf[i * ${wg}u + lid + s]);
      }
    }
  }
  workgroupBarrier();
  let base = lid - lane;
  for (var i = 0u; i < ${n}u; i++) { (*v)[i] = ${fnName}_buf[i * ${wg}u + base]; }
  workgroupBarrier();
}`;
}

/**
 * RMSNorm prologue: `invRms(lid)` computes 1/sqrt(mean(x[t]^2) + eps) for the M rows of `xs` (K wide, vec4) into
 * workgroup memory `inv_rms`, every invocation taking part.
 */
export function rmsPrologue(caps: GpuCaps, M: number, K: number, xName: string): string {
  if (caps.subgroups32) {
    // One subgroupAdd per row, then the 8 subgroup partials: two barriers instead of a 256-wide tree.
    return /* wgsl */ `
var<workgroup> inv_rms: array<f32, ${M}>;
var<workgroup> rms_part: array<f32, ${8 * M}>;
fn computeInvRms(lid: u32, xrow0: u32, eps: f32) {
  for (var m = 0u; m < ${M}u; m++) {
    var a = 0.0;
    for (var c = lid; c < ${K / 4}u; c += 256u) { let v = ${xName}[(xrow0 + m) * ${K / 4}u + c]; a += dot(v, v); }
    a = subgroupAdd(a);
    if ((lid & 31u) == 0u) { rms_part[m * 8u + (lid >> 5u)] = a; }
  }
  workgroupBarrier();
  if (lid < ${M}u) {
    var t = 0.0;
    for (var i = 0u; i < 8u; i++) { t += rms_part[lid * 8u + i]; }
    inv_rms[lid] = inverseSqrt(t / ${K}.0 + eps);
  }
  workgroupBarrier();
}`;
  }
  return /* wgsl */ `
var<workgroup> inv_rms: array<f32, ${M}>;
${groupReduce(caps, 'rms_sum', M, 256, 'add')}
fn computeInvRms(lid: u32, xrow0: u32, eps: f32) {
  var ss: array<f32, ${M}>;
  for (var m = 0u; m < ${M}u; m++) {
    var a = 0.0;
    for (var c = lid; c < ${K / 4}u; c += 256u) { let v = ${xName}[(xrow0 + m) * ${K / 4}u + c]; a += dot(v, v); }
    ss[m] = a;
  }
  rms_sum(&ss, lid);
  if (lid == 0u) { for (var m = 0u; m < ${M}u; m++) { inv_rms[m] = inverseSqrt(ss[m] / ${K}.0 + eps); } }
  workgroupBarrier();
}`;
}

/**
 * Per-invocation router (CPU-rasteriser shapes): top-k by rank counting and softmax over the k selected, into the
 * function-scope arrays `sel` / `selw` that the caller declares.
 */
export function routeLocal(E: number, k: number): string {
  return /* wgsl */ `
fn routeLocal(tok: u32, sel: ptr<function, array<u32, ${k}>>, selw: ptr<function, array<f32, ${k}>>) {
  for (var i = 0u; i < ${E}u; i++) {
    let v = logits[tok * ${E}u + i];
    var rank = 0u;
    for (var j = 0u; j < ${E}u; j++) {
      let u = logits[tok * ${E}u + j];
      rank += select(0u, 1u, u > v || (u == v && j < i));
    }
    if (rank < ${k}u) { (*sel)[rank] = i; }
  }
  let mx = logits[tok * ${E}u + (*sel)[0]];
  var z = 0.0;
  for (var r = 0u; r < ${k}u; r++) { let e = exp(logits[tok * ${E}u + (*sel)[r]] - mx); (*selw)[r] = e; z += e; }
  for (var r = 0u; r < ${k}u; r++) { (*selw)[r] = (*selw)[r] / z; }
}`;
}

/**
 * MXFP4 decode through a table in workgroup memory (fast path with f16): entry (byte, copy) is the byte's two e2m1
 * nibbles as a vec2<f16> of twice their values (exact), so a u32 of weights costs 4 table loads and 4 packed f16
 * multiply-adds instead of ~30 bit operations. Each invocation reads its own copy (`copies` of them, indexed by the
 * lane), so that the 32 lanes of a subgroup hit distinct banks whatever the bytes are. `fillLut` must be called from
 * uniform control flow before any use. x pairs are consecutive values (x8l), unlike MXFP4_F16_HELPERS.
 */
export function mxfp4LutHelpers(copies: number): string {
  const sh = Math.log2(copies);
  return /* wgsl */ `
var<workgroup> lut: array<u32, ${256 * copies}>;
fn fillLut(lid: u32) {
  for (var i = lid; i < ${256 * copies}u; i += 256u) {
    let b = i >> ${sh}u;
    lut[i] = pack2x16float(vec2f(fp4x2(b), fp4x2(b >> 4u)));
  }
  workgroupBarrier();
}
fn lutPair(w: u32, sh: u32, lane: u32) -> vec2<f16> {
  return bitcast<vec2<f16>>(lut[(((w >> sh) & 0xFFu) << ${sh}u) | lane]);
}
fn fp4dot8l(w: u32, x: array<vec2<f16>, 4>, lane: u32) -> f32 {
  var acc = lutPair(w, 0u, lane) * x[0];
  acc = fma(lutPair(w, 8u, lane), x[1], acc);
  acc = fma(lutPair(w, 16u, lane), x[2], acc);
  acc = fma(lutPair(w, 24u, lane), x[3], acc);
  return f32(acc.x) + f32(acc.y);
}
fn x8l(a: vec4f, b: vec4f) -> array<vec2<f16>, 4> {
  let ah = vec4<f16>(a);
  let bh = vec4<f16>(b);
  return array<vec2<f16>, 4>(ah.xy, ah.zw, bh.xy, bh.zw);
}`;
}

/**
 * The inner step of the unrolled MXFP4 expert kernels (mlp1 and mlp2): loads the 8 activation vec4s of block `j`
 * (`load(q)` gives the expression of the q-th) as `${x}0..7`, then adds the block's dot product with the weight
 * vec4 `w{r}_{j}` times its scale `s{r}_{j}` into the accumulators `${acc}0..rows-1`. The activations are packed to
 * f16 halves (`${half}0..3`) on the LUT and f16 paths.
 */
export function emitMxfp4BlockDot(
  lines: string[],
  o: {
    j: number;
    rows: number;
    caps: GpuCaps;
    lut: boolean;
    /** The activations are f16 pairs (HALF_PAIR_HELPERS): `load(q)`, q = 0..3, gives weight word q's vec4<u32>. */
    halfPairs?: boolean;
    /** @internal Benchmarks: decode variants on the f16-pair path (MoeDecodeVariant; needs mxfp4F16Chain). */
    decode?: MoeDecodeVariant;
    load: (q: number) => string;
    x: string;
    half: string;
    acc: string;
  },
): void {
  const { j, x, half, acc } = o;
  const w = (r: number, c: string) => `w${r}_${j}.${c}`;
  let dot: (r: number) => string;
  if (o.halfPairs && o.caps.f16 && o.decode?.xor) {
    // Diagnostic: no decode and no products; every load still feeds the result (which is wrong).
    for (let q = 0; q < 4; q++) lines.push(`let ${half}u${q} = ${o.load(q)};`);
    lines.push(`let ${half}ux = ${[0, 1, 2, 3].map((q) => `${half}u${q}.x ^ ${half}u${q}.y ^ ${half}u${q}.z ^ ${half}u${q}.w`).join(' ^ ')};`);
    for (let r = 0; r < o.rows; r++) {
      lines.push(`${acc}${r} += s${r}_${j} * bitcast<f32>(((${w(r, 'x')} ^ ${w(r, 'y')} ^ ${w(r, 'z')} ^ ${w(r, 'w')} ^ ${half}ux) & 0x007fffffu) | 0x3f800000u);`);
    }
    return;
  }
  if (o.halfPairs && o.caps.f16 && o.decode && (o.decode.raw || o.decode.halfSum || (o.decode.chain ?? 1) > 1)) {
    const C = o.decode.chain ?? 1;
    for (let q = 0; q < 4; q++) lines.push(`let ${half}${q} = xh4(${o.load(q)});`);
    const comps = ['x', 'y', 'z', 'w'];
    for (let r = 0; r < o.rows; r++) {
      const chains: string[] = [];
      for (let c0 = 0; c0 < 4; c0 += C) {
        let e = `fq(${w(r, comps[c0])}, ${half}${c0})`;
        for (let q = c0 + 1; q < c0 + C; q++) e = `fqAcc(${w(r, comps[q])}, ${half}${q}, ${e})`;
        chains.push(e);
      }
      const sum = o.decode.halfSum
        ? `hsum(${chains.length === 4 ? `(${chains[0]} + ${chains[1]}) + (${chains[2]} + ${chains[3]})` : chains.join(' + ')})`
        : chains.map((c) => `hsum(${c})`).join(' + ');
      lines.push(`${acc}${r} += s${r}_${j} * (${sum});`);
    }
    return;
  }
  if (o.halfPairs) {
    if (o.lut) throw new Error('emitMxfp4BlockDot: the LUT decode takes f32 activations');
    for (let q = 0; q < 4; q++) {
      if (o.caps.f16) {
        lines.push(`let ${half}${q} = xh4(${o.load(q)});`);
      } else {
        lines.push(`let ${half}${q} = ${o.load(q)};`, `let ${x}${2 * q} = xpLo(${half}${q});`, `let ${x}${2 * q + 1} = xpHi(${half}${q});`);
      }
    }
    dot = o.caps.f16
      ? (r) => ['x', 'y', 'z', 'w'].map((c, q) => `fp4dot8h(${w(r, c)}, ${half}${q})`).join(' + ')
      : (r) => ['x', 'y', 'z', 'w'].map((c, q) => `fp4dot8(${w(r, c)}, ${x}${2 * q}, ${x}${2 * q + 1})`).join(' + ');
    for (let r = 0; r < o.rows; r++) lines.push(`${acc}${r} += s${r}_${j} * (${dot(r)});`);
    return;
  }
  for (let q = 0; q < 8; q++) lines.push(`let ${x}${q} = ${o.load(q)};`);
  if (o.lut) {
    for (let q = 0; q < 4; q++) lines.push(`let ${half}${q} = x8l(${x}${2 * q}, ${x}${2 * q + 1});`);
    dot = (r) => ['x', 'y', 'z', 'w'].map((c, q) => `fp4dot8l(${w(r, c)}, ${half}${q}, ll)`).join(' + ');
  } else if (o.caps.f16) {
    for (let q = 0; q < 4; q++) lines.push(`let ${half}${q} = x8h(${x}${2 * q}, ${x}${2 * q + 1});`);
    dot = (r) => ['x', 'y', 'z', 'w'].map((c, q) => `fp4dot8h(${w(r, c)}, ${half}${q})`).join(' + ');
  } else {
    dot = (r) => ['x', 'y', 'z', 'w'].map((c, q) => `fp4dot8(${w(r, c)}, ${x}${2 * q}, ${x}${2 * q + 1})`).join(' + ');
  }
  for (let r = 0; r < o.rows; r++) lines.push(`${acc}${r} += s${r}_${j} * (${dot(r)});`);
}

/** Decode variants of the per-token MoE kernels' f16 path (see mxfp4F16Chain; MoeProgramOptions.decode). */
export interface MoeDecodeVariant {
  /** Pairs used as decoded (value·2^-14): no rescale per pair (inputs would need prescaling; timing only). */
  raw?: boolean;
  /** Weight words per f16 accumulation chain: 1 (as shipped), 2 or 4. */
  chain?: 1 | 2 | 4;
  /** The chains of a block summed in f16 before one conversion to f32 (instead of each chain converted). */
  halfSum?: boolean;
  /** No decode: the loads XORed together (wrong results; measures the arithmetic). */
  xor?: boolean;
}

/** Table copies for mxfp4LutHelpers that fit the adapter's workgroup memory next to `reserve` bytes, or 0. */
export function lutCopies(caps: GpuCaps, reserve = 2048): number {
  if (!caps.f16 || caps.cpuLike) return 0;
  for (const c of [32, 16]) if (256 * c * 4 + reserve <= caps.maxWorkgroupStorage) return c;
  return 0;
}
