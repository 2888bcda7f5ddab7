import { KernelShapeError } from '../errors.js';
import type { BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { enables, groupReduce } from '../wgsl.js';

export interface AttentionShape {
  /** Query heads. */
  NQ: number;
  /** Key/value heads (GQA: query head h uses KV head floor(h / (NQ/NKV))). */
  NKV: number;
  /** Head dim; a multiple of 8. */
  D: number;
}

/** Keys one workgroup handles (one per invocation). */
export const ATTN_CHUNK = 256;

export function checkAttentionShape(s: AttentionShape): number {
  const G = s.NQ / s.NKV;
  if (!Number.isInteger(G) || 256 % G !== 0 || s.D % 8 !== 0 || 256 % ((G * s.D) / 4) !== 0) {
    throw new KernelShapeError(
      `attention: need NQ a multiple of NKV with NQ/NKV dividing 256, D % 8 == 0 and (NQ/NKV)*D/4 dividing 256; got ` +
        `NQ=${s.NQ} NKV=${s.NKV} D=${s.D}`,
    );
  }
  return G;
}

/** Key chunks per workgroup the GPU shape supports. */
export const ATTN_CHUNKS = [32, 64, 128, 256] as const;

/** Splits (workgroups along the keys) needed for a query at `pos` attending to `window` keys (0 = all). */
export function attentionSplits(pos: number, window: number, chunk: number = ATTN_CHUNK): number {
  const start = window > 0 && pos + 1 > window ? pos + 1 - window : 0;
  return Math.ceil((pos + 1 - start) / chunk);
}

function checkChunk(chunk: number): void {
  if (!(ATTN_CHUNKS as readonly number[]).includes(chunk)) {
    throw new KernelShapeError(`attention: keys per workgroup must be one of ${ATTN_CHUNKS.join(', ')}, got ${chunk}`);
  }
}

/**
 * Sink attention with optional sliding window and GQA, split over the keys (flash-decoding): workgroup
 * (split, kvHead, token) rotates the G query heads of its KV head (YaRN table, scale 1/sqrt(D) folded into q), scores
 * up to 256 cached keys, and either finishes (one split: the sink joins the softmax here) or writes (o, max, sum)
 * partials for attentionCombine. With `writeKV` the workgroup that owns position `pos` also rotates the new key and
 * stores K/V into the cache first (decode: saves a dispatch). The cache is `[2][capacity][NKV][D]` f32 (K then V).
 * `kvHalf`: the cache holds f16 (ropeKvProgram(s, true) writes it; half the bytes at long range).
 * `prefetch` issues every K/V load of the workgroup before its first barrier (one memory round trip instead of three
 * dependent ones, at the price of ~32 more registers per invocation): faster when the workgroups are few (decode at
 * short range: 20b attention per step 200 → 170 µs at ctx 128), slower when they fill the GPU (4k: 400 → 416 µs,
 * 16k: 681 → 775 µs; bench/RESULTS.md, session 9).
 */
export function attentionProgram(
  caps: GpuCaps,
  s: AttentionShape,
  headsPerWorkgroup?: number,
  chunk: number = ATTN_CHUNK,
  prefetch = false,
  kvHalf = false,
): KernelProgram {
  const G0 = checkAttentionShape(s);
  checkChunk(chunk);
  if (caps.cpuLike) {
    if (kvHalf) throw new KernelShapeError('attention: an f16 K/V cache needs the GPU kernel shape');
    return attentionRowwiseProgram(s);
  }
  const { NQ, NKV, D } = s;
  // G query heads per workgroup (a divisor of the GQA group): fewer heads per workgroup = more workgroups when the
  // keys alone give too few (short contexts), at the price of re-reading each K/V row once per workgroup.
  const G = headsPerWorkgroup ?? G0;
  if (G0 % G !== 0) throw new KernelShapeError(`attention: heads per workgroup ${G} must divide ${G0}`);
  const HG = G0 / G;
  const D4 = D / 4;
  const HALF = D / 2;
  const QKVW = (NQ + 2 * NKV) * D;
  const TPH = 256 / G;
  const GD4 = G * D4;
  const KS2 = 256 / D4;
  const heads = Array.from({ length: G }, (_, h) => h);
  // P·V over the chunk: from the registers loaded up front (prefetch), or in rounds of 4 loads per slice.
  const pvLoop = prefetch
    ? Array.from({ length: chunk / KS2 }, (_, q) => {
        const t = `slice + ${q * KS2}u`;
        return `{
    let v = select(select(vp${q}, vself[d4], c0 + ${t} == pown), vec4f(0.0), ${t} >= n);
    ${heads.map((h) => `o${h} += ps[${h * chunk}u + ${t}] * v;`).join(' ')}
  }`;
      }).join('\n  ')
    : `var t = slice;
  for (; t + ${3 * KS2}u < n; t += ${4 * KS2}u) {
    let j0 = c0 + t;
    let v0 = vat(vb, j0, pown, d4);
    let v1 = vat(vb, j0 + ${KS2}u, pown, d4);
    let v2 = vat(vb, j0 + ${2 * KS2}u, pown, d4);
    let v3 = vat(vb, j0 + ${3 * KS2}u, pown, d4);
    ${heads
      .map(
        (h) =>
          `o${h} += (ps[${h * chunk}u + t] * v0 + ps[${h * chunk}u + t + ${KS2}u] * v1) + (ps[${h * chunk}u + t + ${2 * KS2}u] * v2 + ps[${h * chunk}u + t + ${3 * KS2}u] * v3);`,
      )
      .join('\n    ')}
  }
  for (; t < n; t += ${KS2}u) {
    let v = vat(vb, c0 + t, pown, d4);
    ${heads.map((h) => `o${h} += ps[${h * chunk}u + t] * v;`).join(' ')}
  }`;
  return {
    name: 'attention',
    cacheKey: `attention:NQ${NQ}:NKV${NKV}:D${D}:GH${G}:sg${+caps.subgroups32}:CH${chunk}:pf${+prefetch}:kh${+kvHalf}`,
    meta: { workgroupsPerKvHead: HG, chunk },
    bindings: [
      { name: 'qkv', type: 'array<f32>', access: 'read' },
      { name: 'kv', type: kvHalf ? 'array<vec2<u32>>' : 'array<vec4f>', access: 'read_write' },
      { name: 'rope', type: 'array<vec2f>', access: 'read' },
      { name: 'sinks', type: 'array<f32>', access: 'read' },
      { name: 'out', type: 'array<vec4f>', access: 'read_write' },
      { name: 'part', type: 'array<vec4f>', access: 'read_write' },
    ],
    enables: enables(caps),
    params: [
      ['row0', 'u32'],
      ['pos0', 'u32'],
      ['cap', 'u32'],
      ['window', 'u32'],
      ['nsplit', 'u32'],
      ['writeKV', 'u32'],
    ],
    body: () => /* wgsl */ `
const CH = ${chunk}u;
const NEG = -3.0e38;
var<workgroup> qs: array<vec4f, ${G * D4}>;
var<workgroup> ps: array<f32, ${G * chunk}>;
var<workgroup> mh: array<f32, ${G}>;
var<workgroup> lh: array<f32, ${G}>;
var<workgroup> pv: array<vec4f, 256>;
${G > 1 ? `var<workgroup> res: array<vec4f, ${G * D4}>;` : ''}
var<workgroup> kself: array<vec4f, ${D4}>;
var<workgroup> vself: array<vec4f, ${D4}>;
${groupReduce(caps, 'hmax', 1, TPH, 'max')}
${groupReduce(caps, 'hsum', 1, TPH, 'add')}
fn rot(x1: vec4f, x2: vec4f, pos: u32, i4: u32) -> array<vec4f, 2> {
  let b = pos * ${HALF}u + 4u * i4;
  let r0 = rope[b]; let r1 = rope[b + 1u]; let r2 = rope[b + 2u]; let r3 = rope[b + 3u];
  let c = vec4f(r0.x, r1.x, r2.x, r3.x);
  let s = vec4f(r0.y, r1.y, r2.y, r3.y);
  return array<vec4f, 2>(x1 * c - x2 * s, x2 * c + x1 * s);
}
fn ld4(i: u32) -> vec4f { return vec4f(qkv[i], qkv[i + 1u], qkv[i + 2u], qkv[i + 3u]); }
${kvAccess(kvHalf)}
fn vat(vb: u32, j: u32, pown: u32, d4: u32) -> vec4f { return select(kvl(vb + j * ${NKV * D4}u), vself[d4], j == pown); }
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = wid.z;
  let row = p.row0 + tok;
  let pos = p.pos0 + tok;
  let g = wid.y / ${HG}u;
  let h0 = g * ${G0}u + (wid.y % ${HG}u) * ${G}u;
  let split = wid.x;
  let start = select(0u, pos + 1u - p.window, p.window > 0u && pos + 1u > p.window);
  let ns = (pos + 1u - start + CH - 1u) / CH;
  if (split >= ns) { return; }
  let c0 = start + split * CH;
  let c1 = min(c0 + CH, pos + 1u);
  let scale = ${1 / Math.sqrt(D)};
  let VOFF = p.cap * ${NKV * D4}u;
  let d4 = lid % ${D4}u;
  let slice = lid / ${D4}u;
  let vb = VOFF + g * ${D4}u + d4;
  // The sink of the head this invocation finishes, loaded now: at the end it would add a memory round trip.
  let sinkh = sinks[h0 + ${G === 1 ? '0u' : `min(lid / ${D4}u, ${G - 1}u)`}];
  ${
    prefetch
      ? `// Every K and V load of the workgroup is issued here, before the first barrier, so that they overlap each other and
  // the query's rotation: one memory round trip instead of three dependent ones. Indices are clamped to the chunk's
  // last key (always written, or taken from kself/vself below); the probabilities past it are 0.
  let kbp = (min(c0 + lid, c1 - 1u) * ${NKV}u + g) * ${D4}u;
  ${Array.from({ length: D4 }, (_, d) => `let kp${d} = kvl(kbp + ${d}u);`).join('\n  ')}
  ${Array.from({ length: chunk / KS2 }, (_, q) => `let vp${q} = kvl(vb + min(c0 + slice + ${q * KS2}u, c1 - 1u) * ${NKV * D4}u);`).join('\n  ')}`
      : ''
  }
  for (var t = lid; t < ${G * (D4 / 2)}u; t += 256u) {
    let hh = t / ${D4 / 2}u;
    let i4 = t % ${D4 / 2}u;
    let qi = row * ${QKVW}u + (h0 + hh) * ${D}u + 4u * i4;
    let r = rot(ld4(qi), ld4(qi + ${HALF}u), pos, i4);
    qs[hh * ${D4}u + i4] = r[0] * scale;
    qs[hh * ${D4}u + i4 + ${D4 / 2}u] = r[1] * scale;
  }
  // Decode: the workgroups whose chunk holds the new position take its K/V from qkv (the cache write by the first
  // of them may not be visible to the others yet); the first one also stores them.
  let own = p.writeKV == 1u && c1 == pos + 1u;
  if (own) {
    let kb = (pos * ${NKV}u + g) * ${D4}u;
    let first = wid.y % ${HG}u == 0u;
    for (var t = lid; t < ${D4 / 2}u; t += 256u) {
      let ki = row * ${QKVW}u + ${NQ * D}u + g * ${D}u + 4u * t;
      let r = rot(ld4(ki), ld4(ki + ${HALF}u), pos, t);
      kself[t] = r[0];
      kself[t + ${D4 / 2}u] = r[1];
      if (first) { kvs(kb + t, r[0]); kvs(kb + t + ${D4 / 2}u, r[1]); }
    }
    for (var t = lid; t < ${D4}u; t += 256u) {
      let v = ld4(row * ${QKVW}u + ${(NQ + NKV) * D}u + g * ${D}u + 4u * t);
      vself[t] = v;
      if (first) { kvs(VOFF + kb + t, v); }
    }
  }
  workgroupBarrier();
  let j = c0 + lid;
  if (j < c1) {
    var sc: array<f32, ${G}>;
    let mine = own && j == pos;
    ${
      prefetch
        ? Array.from(
            { length: D4 },
            (_, d) => `{
      let k4 = select(kp${d}, kself[${d}u], mine);
      for (var hh = 0u; hh < ${G}u; hh++) { sc[hh] += dot(qs[hh * ${D4}u + ${d}u], k4); }
    }`,
          ).join('\n    ')
        : `let kb = (j * ${NKV}u + g) * ${D4}u;
    for (var d = 0u; d < ${D4}u; d++) {
      let k4 = select(kvl(kb + d), kself[d], mine);
      for (var hh = 0u; hh < ${G}u; hh++) { sc[hh] += dot(qs[hh * ${D4}u + d], k4); }
    }`
    }
    for (var hh = 0u; hh < ${G}u; hh++) { ps[hh * CH + lid] = sc[hh]; }
  } else if (lid < CH) {
    for (var hh = 0u; hh < ${G}u; hh++) { ps[hh * CH + lid] = NEG; }
  }
  workgroupBarrier();
  let hh = lid / ${TPH}u;
  let ln = lid % ${TPH}u;
  var v: array<f32, 1>;
  v[0] = NEG;
  for (var jj = ln; jj < CH; jj += ${TPH}u) { v[0] = max(v[0], ps[hh * CH + jj]); }
  hmax(&v, lid);
  let m = v[0];
  var l: array<f32, 1>;
  for (var jj = ln; jj < CH; jj += ${TPH}u) {
    let e = select(0.0, exp(ps[hh * CH + jj] - m), jj < c1 - c0);
    ps[hh * CH + jj] = e;
    l[0] += e;
  }
  hsum(&l, lid);
  if (ln == 0u) { mh[hh] = m; lh[hh] = l[0]; }
  workgroupBarrier();
  // P·V: each invocation takes one D/4 lane of V for all G heads, so a V row is loaded once per key rather than once
  // per head, and the keys split into 256/(D/4) slices (a short chain of loads each, 4 in flight); the slices of
  // each head then meet in workgroup memory.
  let n = c1 - c0;
  let pown = select(0xffffffffu, pos, own);
  ${heads.map((h) => `var o${h} = vec4f(0.0);`).join(' ')}
  ${pvLoop}
  ${
    G === 1
      ? `pv[lid] = o0;
  workgroupBarrier();
  if (lid < ${D4}u) {
    let oh = 0u;
    var acc = pv[lid];
    for (var q = 1u; q < ${KS2}u; q++) { acc += pv[q * ${D4}u + lid]; }`
      : `${heads
          .map(
            (h) => `pv[lid] = o${h};
  workgroupBarrier();
  if (lid < ${D4}u) {
    var sum = pv[lid];
    for (var q = 1u; q < ${KS2}u; q++) { sum += pv[q * ${D4}u + lid]; }
    res[${h * D4}u + lid] = sum;
  }
  workgroupBarrier();`,
          )
          .join('\n  ')}
  if (lid < ${GD4}u) {
    let oh = lid / ${D4}u;
    let acc = res[lid];`
  }
    let head = h0 + oh;
    if (ns == 1u) {
      let sink = sinkh;
      let mm = max(mh[oh], sink);
      let den = lh[oh] * exp(mh[oh] - mm) + exp(sink - mm);
      out[(row * ${NQ}u + head) * ${D4}u + d4] = acc * (exp(mh[oh] - mm) / den);
    } else {
      let pb = ((tok * ${NQ}u + head) * p.nsplit + split) * ${D4 + 1}u;
      part[pb + d4] = acc;
      if (d4 == 0u) { part[pb + ${D4}u] = vec4f(mh[oh], lh[oh], 0.0, 0.0); }
    }
  }
}`,
  };
}

/**
 * K/V cache element access (one vec4 of a head row): f32 as stored, or f16 (`kvHalf`: 4 values in a vec2<u32>,
 * pack2x16float: half the bytes that every decode step reads at long range).
 */
function kvAccess(kvHalf: boolean): string {
  return kvHalf
    ? `fn kvl(i: u32) -> vec4f { let w = kv[i]; return vec4f(unpack2x16float(w.x), unpack2x16float(w.y)); }
fn kvs(i: u32, v: vec4f) { kv[i] = vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw)); }`
    : `fn kvl(i: u32) -> vec4f { return kv[i]; }
fn kvs(i: u32, v: vec4f) { kv[i] = v; }`;
}

/**
 * CPU-rasteriser shape: one invocation per (query head, token) with an online softmax over all its keys; no
 * barriers, no splits. K/V of the new tokens must already be in the cache (attention() records ropeKv first).
 */
function attentionRowwiseProgram(s: AttentionShape): KernelProgram {
  const { NQ, NKV, D } = s;
  const G = NQ / NKV;
  const D4 = D / 4;
  const HALF = D / 2;
  const QKVW = (NQ + 2 * NKV) * D;
  return {
    name: 'attention_rowwise',
    cacheKey: `attention_rowwise:NQ${NQ}:NKV${NKV}:D${D}`,
    bindings: [
      { name: 'qkv', type: 'array<f32>', access: 'read' },
      { name: 'kv', type: 'array<vec4f>', access: 'read_write' },
      { name: 'rope', type: 'array<vec2f>', access: 'read' },
      { name: 'sinks', type: 'array<f32>', access: 'read' },
      { name: 'out', type: 'array<vec4f>', access: 'read_write' },
      { name: 'part', type: 'array<vec4f>', access: 'read_write' },
    ],
    params: [
      ['row0', 'u32'],
      ['pos0', 'u32'],
      ['cap', 'u32'],
      ['window', 'u32'],
      ['tokens', 'u32'],
    ],
    body: () => /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let head = gid.x % ${NQ}u;
  let tok = gid.x / ${NQ}u;
  if (tok >= p.tokens) { return; }
  let row = p.row0 + tok;
  let pos = p.pos0 + tok;
  let g = head / ${G}u;
  var q: array<vec4f, ${D4}>;
  let qb = row * ${QKVW}u + head * ${D}u;
  for (var i = 0u; i < ${HALF}u; i++) {
    let cs = rope[pos * ${HALF}u + i];
    let x1 = qkv[qb + i];
    let x2 = qkv[qb + i + ${HALF}u];
    q[i / 4u][i % 4u] = (x1 * cs.x - x2 * cs.y) * ${1 / Math.sqrt(D)};
    q[(i + ${HALF}u) / 4u][i % 4u] = (x2 * cs.x + x1 * cs.y) * ${1 / Math.sqrt(D)};
  }
  let start = select(0u, pos + 1u - p.window, p.window > 0u && pos + 1u > p.window);
  let VOFF = p.cap * ${NKV * D4}u;
  var m = sinks[head];
  var l = 1.0;
  var acc: array<vec4f, ${D4}>;
  for (var j = start; j <= pos; j++) {
    let kb = (j * ${NKV}u + g) * ${D4}u;
    var sc = 0.0;
    for (var d = 0u; d < ${D4}u; d++) { sc += dot(q[d], kv[kb + d]); }
    let mn = max(m, sc);
    let f = exp(m - mn);
    let e = exp(sc - mn);
    l = l * f + e;
    for (var d = 0u; d < ${D4}u; d++) { acc[d] = acc[d] * f + e * kv[VOFF + kb + d]; }
    m = mn;
  }
  for (var d = 0u; d < ${D4}u; d++) { out[(row * ${NQ}u + head) * ${D4}u + d] = acc[d] / l; }
}`,
  };
}

/** Merges the split partials of attentionProgram with the sink (only tokens that needed more than one split). */
export function attentionCombineProgram(s: AttentionShape, chunk: number = ATTN_CHUNK): KernelProgram {
  checkAttentionShape(s);
  checkChunk(chunk);
  const { NQ, D } = s;
  const D4 = D / 4;
  return {
    name: 'attention_combine',
    cacheKey: `attention_combine:NQ${NQ}:D${D}:CH${chunk}`,
    meta: { chunk },
    bindings: [
      { name: 'sinks', type: 'array<f32>', access: 'read' },
      { name: 'part', type: 'array<vec4f>', access: 'read' },
      { name: 'out', type: 'array<vec4f>', access: 'read_write' },
    ],
    params: [
      ['row0', 'u32'],
      ['pos0', 'u32'],
      ['window', 'u32'],
      ['nsplit', 'u32'],
    ],
    body: () => /* wgsl */ `
const SL = ${256 / D4}u;
var<workgroup> cm: array<f32, 256>;
var<workgroup> cl: array<f32, 256>;
var<workgroup> ca: array<vec4f, 256>;
// 256 / (D/4) slices of the splits merge online in parallel (a long context has hundreds of splits: one invocation
// per lane walking all of them was most of the attention's time at 16k), then the first slice merges the slices
// and the sink.
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let head = wid.x;
  let tok = wid.y;
  let pos = p.pos0 + tok;
  let start = select(0u, pos + 1u - p.window, p.window > 0u && pos + 1u > p.window);
  let ns = (pos + 1u - start + ${chunk - 1}u) / ${chunk}u;
  if (ns <= 1u) { return; }
  let base = (tok * ${NQ}u + head) * p.nsplit;
  let d4 = lid % ${D4}u;
  let sl = lid / ${D4}u;
  var m = -3.0e38;
  var l = 0.0;
  var acc = vec4f(0.0);
  for (var s = sl; s < ns; s += SL) {
    let ml = part[(base + s) * ${D4 + 1}u + ${D4}u];
    let v = part[(base + s) * ${D4 + 1}u + d4];
    let mn = max(m, ml.x);
    let f = exp(m - mn);
    let g = exp(ml.x - mn);
    l = l * f + ml.y * g;
    acc = acc * f + v * g;
    m = mn;
  }
  cm[lid] = m;
  cl[lid] = l;
  ca[lid] = acc;
  workgroupBarrier();
  if (lid < ${D4}u) {
    let sink = sinks[head];
    var mm = sink;
    for (var q = 0u; q < SL; q++) { mm = max(mm, cm[q * ${D4}u + d4]); }
    var den = exp(sink - mm);
    var o = vec4f(0.0);
    for (var q = 0u; q < SL; q++) {
      let f = exp(cm[q * ${D4}u + d4] - mm);
      den += cl[q * ${D4}u + d4] * f;
      o += ca[q * ${D4}u + d4] * f;
    }
    out[((p.row0 + tok) * ${NQ}u + head) * ${D4}u + d4] = o / den;
  }
}`,
  };
}

/** Rotates the keys of `tokens` rows of qkv and stores K/V at positions pos0.. in the cache (prefill; f16 with kvHalf). */
export function ropeKvProgram(s: AttentionShape, kvHalf = false): KernelProgram {
  checkAttentionShape(s);
  const { NQ, NKV, D } = s;
  const HALF = D / 2;
  const QKVW = (NQ + 2 * NKV) * D;
  // f32 cache: one value (and its rotation partner) per step; f16 cache (kvHalf): two adjacent values, one u32.
  const loops = kvHalf
    ? `  // Value pairs (i, i+1), i even < D/2, with their rotation partners (i+D/2, i+1+D/2).
  for (var t = lid; t < ${(NKV * HALF) / 2}u; t += 256u) {
    let g = t / ${HALF / 2}u;
    let i = 2u * (t % ${HALF / 2}u);
    let ki = row * ${QKVW}u + ${NQ * D}u + g * ${D}u + i;
    let r0 = rope[pos * ${HALF}u + i];
    let r1 = rope[pos * ${HALF}u + i + 1u];
    let a = vec2f(qkv[ki], qkv[ki + 1u]);
    let b = vec2f(qkv[ki + ${HALF}u], qkv[ki + ${HALF + 1}u]);
    let c = vec2f(r0.x, r1.x);
    let sn = vec2f(r0.y, r1.y);
    let kb = ((pos * ${NKV}u + g) * ${D}u + i) / 2u;
    kv[kb] = pack2x16float(a * c - b * sn);
    kv[kb + ${HALF / 2}u] = pack2x16float(b * c + a * sn);
  }
  let VOFF = p.cap * ${(NKV * D) / 2}u;
  for (var t = lid; t < ${(NKV * D) / 2}u; t += 256u) {
    let vi = row * ${QKVW}u + ${(NQ + NKV) * D}u + 2u * t;
    kv[VOFF + pos * ${(NKV * D) / 2}u + t] = pack2x16float(vec2f(qkv[vi], qkv[vi + 1u]));
  }`
    : `  for (var t = lid; t < ${NKV * HALF}u; t += 256u) {
    let g = t / ${HALF}u;
    let i = t % ${HALF}u;
    let ki = row * ${QKVW}u + ${NQ * D}u + g * ${D}u + i;
    let cs = rope[pos * ${HALF}u + i];
    let x1 = qkv[ki];
    let x2 = qkv[ki + ${HALF}u];
    let kb = (pos * ${NKV}u + g) * ${D}u + i;
    kv[kb] = x1 * cs.x - x2 * cs.y;
    kv[kb + ${HALF}u] = x2 * cs.x + x1 * cs.y;
  }
  let VOFF = p.cap * ${NKV * D}u;
  for (var t = lid; t < ${NKV * D}u; t += 256u) {
    kv[VOFF + pos * ${NKV * D}u + t] = qkv[row * ${QKVW}u + ${(NQ + NKV) * D}u + t];
  }`;
  return {
    name: 'rope_kv',
    cacheKey: `rope_kv:NQ${NQ}:NKV${NKV}:D${D}${kvHalf ? ':half' : ''}`,
    bindings: [
      { name: 'qkv', type: 'array<f32>', access: 'read' },
      { name: 'kv', type: kvHalf ? 'array<u32>' : 'array<f32>', access: 'read_write' },
      { name: 'rope', type: 'array<vec2f>', access: 'read' },
    ],
    params: [
      ['row0', 'u32'],
      ['pos0', 'u32'],
      ['cap', 'u32'],
    ],
    body: () => /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let row = p.row0 + wid.x;
  let pos = p.pos0 + wid.x;
  ${loops}
}`,
  };
}

export interface AttentionArgs {
  qkv: BufferRef;
  /** This layer's cache `[2][cap][NKV][D]` f32. */
  kv: BufferRef;
  cap: number;
  /** YaRN table `[positions][D/2]` of (cos·c, sin·c). */
  rope: BufferRef;
  sinks: BufferRef;
  out: BufferRef;
  /** Scratch for split partials: at least tokens*NQ*maxSplits*(D+4) floats. */
  part: BufferRef;
  /** qkv row of the first token, its absolute position, and the number of consecutive tokens. */
  row0: number;
  pos0: number;
  tokens: number;
  /** 0 = full causal attention. */
  window: number;
  /** Decode (one token): store its K/V in the same dispatch. Prefill: run ropeKv first and pass false. */
  writeKV: boolean;
}

/** Records attention (and the combine pass when some token needs several splits). */
export function attention(
  rec: StepRecorder,
  progs: {
    attention: KernelProgram;
    combine: KernelProgram;
    ropeKv?: KernelProgram;
    /** Variant with fewer heads per workgroup, used when the keys alone give fewer than 64 workgroups. */
    attentionNarrow?: KernelProgram;
  },
  s: AttentionShape,
  a: AttentionArgs,
): void {
  if (a.tokens > 1 && a.writeKV) throw new KernelShapeError('attention: writeKV is for one token; use ropeKv first');
  if (progs.attention.name === 'attention_rowwise') {
    if (a.writeKV) {
      if (!progs.ropeKv) throw new KernelShapeError('attention: the row-wise variant needs progs.ropeKv for writeKV');
      ropeKv(rec, progs.ropeKv, { ...a });
    }
    rec.dispatch(
      progs.attention,
      [a.qkv, a.kv, a.rope, a.sinks, a.out, a.part],
      { row0: a.row0, pos0: a.pos0, cap: a.cap, window: a.window, tokens: a.tokens },
      Math.ceil((s.NQ * a.tokens) / 64),
    );
    return;
  }
  const chunk = progs.attention.meta?.chunk ?? ATTN_CHUNK;
  for (const p of [progs.combine, progs.attentionNarrow]) {
    if (p && (p.meta?.chunk ?? ATTN_CHUNK) !== chunk) {
      throw new KernelShapeError(`attention: ${p.name} was built for ${p.meta?.chunk} keys per workgroup, attention for ${chunk}`);
    }
  }
  const nsplit = attentionSplits(a.pos0 + a.tokens - 1, a.window, chunk);
  const prog = progs.attentionNarrow && nsplit * s.NKV * a.tokens < 64 ? progs.attentionNarrow : progs.attention;
  rec.dispatch(
    prog,
    [a.qkv, a.kv, a.rope, a.sinks, a.out, a.part],
    { row0: a.row0, pos0: a.pos0, cap: a.cap, window: a.window, nsplit, writeKV: a.writeKV ? 1 : 0 },
    [nsplit, s.NKV * (prog.meta?.workgroupsPerKvHead ?? 1), a.tokens],
  );
  if (nsplit > 1) {
    rec.dispatch(
      progs.combine,
      [a.sinks, a.part, a.out],
      { row0: a.row0, pos0: a.pos0, window: a.window, nsplit },
      [s.NQ, a.tokens],
    );
  }
}

export function ropeKv(
  rec: StepRecorder,
  program: KernelProgram,
  a: { qkv: BufferRef; kv: BufferRef; rope: BufferRef; cap: number; row0: number; pos0: number; tokens: number },
): void {
  rec.dispatch(program, [a.qkv, a.kv, a.rope], { row0: a.row0, pos0: a.pos0, cap: a.cap }, a.tokens);
}
