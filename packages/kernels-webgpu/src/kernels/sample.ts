import type { BufferRef, KernelProgram, StepRecorder } from '../gpu.js';

/** Counter-based RNG shared by the shader and `sampleUniform` (PCG hash), so draws are reproducible anywhere. */
export function pcgHash(x: number): number {
  const state = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform (0, 1) the sampler uses for vocabulary entry `i` of draw (`seed`, `counter`). */
export function sampleUniform(seed: number, counter: number, i: number): number {
  const h = pcgHash((i ^ pcgHash((seed + pcgHash(counter)) >>> 0)) >>> 0);
  return ((h >>> 8) + 0.5) / 16777216;
}

export interface SampleParams {
  /** 0 = greedy (argmax, ties → lowest id). */
  temperature: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set with probability ≥ topP (1 = off). */
  topP?: number;
  seed?: number;
  /** Draw index (e.g. the position), so that each step draws fresh numbers from the same seed. */
  counter?: number;
}

/**
 * Picks one token per logits row on the GPU, so a decode step reads back 4 bytes instead of the vocabulary:
 * greedy argmax, or an exact draw from softmax(logits/T) restricted to top-k / top-p, by the Gumbel-max trick
 * (argmax of logits/T + Gumbel noise) over the tokens above a threshold that a bisection finds. One workgroup per row.
 */
export function sampleProgram(V: number, workgroupSize = 256): KernelProgram {
  const W = workgroupSize;
  return {
    name: 'sample',
    cacheKey: `sample:V${V}:W${W}`,
    bindings: [
      { name: 'logits', type: 'array<f32>', access: 'read' },
      { name: 'tokens', type: 'array<u32>', access: 'read_write' },
    ],
    params: [
      ['row0', 'u32'],
      ['outIndex', 'u32'],
      ['temperature', 'f32'],
      ['topK', 'u32'],
      ['topP', 'f32'],
      ['seed', 'u32'],
      ['counter', 'u32'],
      ['lpIndex', 'u32'],
    ],
    body: () => /* wgsl */ `
const V = ${V}u;
var<workgroup> rv: array<f32, ${W}>;
var<workgroup> ri: array<u32, ${W}>;
fn pcg(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
fn better(v: f32, i: u32, w: f32, j: u32) -> bool { return v > w || (v == w && i < j); }
fn argmaxReduce(lid: u32, v: f32, i: u32) -> u32 {
  rv[lid] = v; ri[lid] = i;
  for (var s = ${W / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s && better(rv[lid + s], ri[lid + s], rv[lid], ri[lid])) { rv[lid] = rv[lid + s]; ri[lid] = ri[lid + s]; }
  }
  workgroupBarrier();
  let r = ri[0];
  workgroupBarrier();
  return r;
}
fn sumReduce(lid: u32, v: f32) -> f32 {
  rv[lid] = v;
  for (var s = ${W / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { rv[lid] += rv[lid + s]; }
  }
  workgroupBarrier();
  let r = rv[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let base = (p.row0 + wid.x) * V;
  // Four independent running maxima keep four loads in flight per invocation.
  var bv = array<f32, 4>(-3.4e38, -3.4e38, -3.4e38, -3.4e38);
  var bi = array<u32, 4>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  var i0 = lid;
  for (; i0 + ${3 * W}u < V; i0 += ${4 * W}u) {
    let v0 = logits[base + i0];
    let v1 = logits[base + i0 + ${W}u];
    let v2 = logits[base + i0 + ${2 * W}u];
    let v3 = logits[base + i0 + ${3 * W}u];
    if (better(v0, i0, bv[0], bi[0])) { bv[0] = v0; bi[0] = i0; }
    if (better(v1, i0 + ${W}u, bv[1], bi[1])) { bv[1] = v1; bi[1] = i0 + ${W}u; }
    if (better(v2, i0 + ${2 * W}u, bv[2], bi[2])) { bv[2] = v2; bi[2] = i0 + ${2 * W}u; }
    if (better(v3, i0 + ${3 * W}u, bv[3], bi[3])) { bv[3] = v3; bi[3] = i0 + ${3 * W}u; }
  }
  for (; i0 < V; i0 += ${W}u) {
    let v = logits[base + i0];
    if (better(v, i0, bv[0], bi[0])) { bv[0] = v; bi[0] = i0; }
  }
  for (var q = 1u; q < 4u; q++) { if (better(bv[q], bi[q], bv[0], bi[0])) { bv[0] = bv[q]; bi[0] = bi[q]; } }
  let amax = argmaxReduce(lid, bv[0], bi[0]);
  let mx = logits[base + amax];
  // log Σ exp(l - max) of the raw logits, for the log-probability of the pick (only when asked: one more pass).
  var lz = 0.0;
  if (p.lpIndex != 0xffffffffu) {
    var z0 = 0.0;
    for (var i = lid; i < V; i += ${W}u) { z0 += exp(logits[base + i] - mx); }
    lz = log(sumReduce(lid, z0));
  }
  if (p.temperature <= 0.0) {
    if (lid == 0u) {
      tokens[p.outIndex + wid.x] = amax;
      if (p.lpIndex != 0xffffffffu) { tokens[p.lpIndex + wid.x] = bitcast<u32>(-lz); }
    }
    return;
  }
  let invT = 1.0 / p.temperature;
  // Threshold on z = (l - max)/T: keep z >= thr. Bisection for top-k (count) and top-p (mass); -inf keeps all.
  var thr = -3.4e38;
  if (p.topK > 0u || p.topP < 1.0) {
    var total = 0.0;
    for (var i = lid; i < V; i += ${W}u) { total += exp((logits[base + i] - mx) * invT); }
    total = sumReduce(lid, total);
    var lo = -60.0;
    var hi = 0.0;
    for (var it = 0u; it < 32u; it++) {
      let mid = 0.5 * (lo + hi);
      var cnt = 0.0;
      var mass = 0.0;
      for (var i = lid; i < V; i += ${W}u) {
        let z = (logits[base + i] - mx) * invT;
        if (z >= mid) { cnt += 1.0; mass += exp(z); }
      }
      cnt = sumReduce(lid, cnt);
      mass = sumReduce(lid, mass);
      // Largest threshold that still keeps k tokens (top-k) or mass p (top-p): both filters applied = the tighter.
      let goodK = p.topK > 0u && cnt >= f32(p.topK);
      let goodP = p.topP < 1.0 && mass >= p.topP * total;
      if (goodK || goodP) { lo = mid; } else { hi = mid; }
    }
    thr = lo;
  }
  let key = (p.seed + pcg(p.counter + wid.x * 0x9E3779B9u));
  var gv = -3.4e38;
  var gi = 0xffffffffu;
  for (var i = lid; i < V; i += ${W}u) {
    let z = (logits[base + i] - mx) * invT;
    if (z >= thr) {
      let h = pcg(i ^ pcg(key));
      let u = (f32(h >> 8u) + 0.5) / 16777216.0;
      let v = z - log(-log(u));
      if (better(v, i, gv, gi)) { gv = v; gi = i; }
    }
  }
  let pick = argmaxReduce(lid, gv, gi);
  if (lid == 0u) {
    tokens[p.outIndex + wid.x] = pick;
    if (p.lpIndex != 0xffffffffu) { tokens[p.lpIndex + wid.x] = bitcast<u32>(logits[base + pick] - mx - lz); }
  }
}`,
  };
}

export function sample(
  rec: StepRecorder,
  program: KernelProgram,
  a: {
    logits: BufferRef;
    tokens: BufferRef;
    rows: number;
    row0?: number;
    outIndex?: number;
    /** Also store each pick's log-probability (log-softmax of the raw logits, f32 bits) at tokens[logprobIndex + row]. */
    logprobIndex?: number;
  } & SampleParams,
): void {
  rec.dispatch(
    program,
    [a.logits, a.tokens],
    {
      row0: a.row0 ?? 0,
      outIndex: a.outIndex ?? 0,
      temperature: a.temperature,
      topK: a.topK ?? 0,
      topP: a.topP ?? 1,
      seed: a.seed ?? 0,
      counter: a.counter ?? 0,
      lpIndex: a.logprobIndex ?? 0xffffffff,
    },
    a.rows,
  );
}
