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

/** Histogram of z = (logit - max)/T for the top-k / top-p candidate bound: 256 bins of 1/4 over [-64, 0). */
const BINS = 256;
/** Logit loads in flight per invocation in the argmax pass (one workgroup reads the whole row: latency-bound). */
const ARGMAX_UNROLL = 16;

/**
 * The largest candidate list (`sampleProgram`'s `candidates`) whose workgroup memory fits `maxWorkgroupStorage` next
 * to the reductions (8 bytes per invocation) and the histogram (4 KB): 8 bytes per candidate, at most 4096; 0 when
 * fewer than 256 fit.
 */
export function sampleCandidatesFor(maxWorkgroupStorage: number, workgroupSize: number): number {
  // 256 bytes for the scalars and the alignment padding between arrays.
  const c = Math.min(4096, Math.floor((maxWorkgroupStorage - 8 * workgroupSize - 4 * BINS * 4 - 256) / 8));
  return c >= 256 ? c : 0;
}

/**
 * WGSL shared by the sampler's kernels: the counter-based RNG (as pcgHash), the tie rule (higher value, then lower
 * index), and workgroup reductions over `W` invocations (argmax as (value bits, index); sum).
 */
function sampleHelpers(W: number): string {
  return /* wgsl */ `
var<workgroup> rv: array<f32, ${W}>;
var<workgroup> ri: array<u32, ${W}>;
fn pcg(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
fn better(v: f32, i: u32, w: f32, j: u32) -> bool { return v > w || (v == w && i < j); }
fn argmaxReduce(lid: u32, v: f32, i: u32) -> vec2<u32> {
  rv[lid] = v; ri[lid] = i;
  for (var s = ${W / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s && better(rv[lid + s], ri[lid + s], rv[lid], ri[lid])) { rv[lid] = rv[lid + s]; ri[lid] = ri[lid + s]; }
  }
  workgroupBarrier();
  let r = vec2<u32>(bitcast<u32>(rv[0]), ri[0]);
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
}`;
}

/**
 * Picks one token per logits row on the GPU, so a decode step reads back 4 bytes instead of the vocabulary:
 * greedy argmax, or an exact draw from softmax(logits/T) restricted to top-k / top-p, by the Gumbel-max trick
 * (argmax of logits/T + Gumbel noise) over the tokens above a threshold that a bisection finds. One workgroup per row.
 * With `candidates` > 0, the pass that sums the softmax also histograms z (counts, and masses in fixed point); from it
 * a bound z0 follows below which the threshold cannot lie (the highest bin edge with at least k tokens, or mass p,
 * above it), the tokens with z >= z0 - 1/4 are gathered into workgroup memory, and the bisection's
 * 32 passes and the draw run over them instead of the whole vocabulary — three passes over the logits instead of
 * 34, whenever they fit and (checked exactly) hold the threshold; otherwise the full passes run.
 */
export function sampleProgram(V: number, workgroupSize = 256, candidates = 0): KernelProgram {
  const W = workgroupSize;
  // The histogram's scan takes one invocation per bin.
  const C = W >= BINS ? candidates : 0;
  const U = ARGMAX_UNROLL;
  return {
    name: 'sample',
    cacheKey: `sample:V${V}:W${W}:C${C}`,
    bindings: [
      { name: 'logits', type: 'array<f32>', access: 'read' },
      { name: 'tokens', type: 'array<u32>', access: 'read_write' },
      { name: 'parts', type: 'array<u32>', access: 'read' },
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
      ['nparts', 'u32'],
      ['gumbelParts', 'u32'],
      ['histParts', 'u32'],
    ],
    body: () => /* wgsl */ `
const V = ${V}u;
${sampleHelpers(W)}
${
  C > 0
    ? `var<workgroup> cz: array<f32, ${C}>;
var<workgroup> ci: array<u32, ${C}>;
var<workgroup> ncand: atomic<u32>;
var<workgroup> ncandU: u32;
var<workgroup> hist: array<atomic<u32>, ${BINS}>;
var<workgroup> hmass: array<atomic<u32>, ${BINS}>;
var<workgroup> sc: array<f32, ${BINS}>;
var<workgroup> sm: array<f32, ${BINS}>;
var<workgroup> bestK: atomic<u32>;
var<workgroup> bestP: atomic<u32>;
var<workgroup> z0U: f32;`
    : ''
}
// (mass, count) summed over the workgroup in one tree (the bisection's two sums at once).
fn massCountReduce(lid: u32, m: f32, c: u32) -> vec2f {
  rv[lid] = m; ri[lid] = c;
  for (var s = ${W / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { rv[lid] += rv[lid + s]; ri[lid] += ri[lid + s]; }
  }
  workgroupBarrier();
  let r = vec2f(rv[0], f32(ri[0]));
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let base = (p.row0 + wid.x) * V;
  // With partial records (samplePartialsPrograms), the vocabulary's passes ran in many workgroups: merge them.
  let spread = p.nparts > 0u;
  let pb = wid.x * p.nparts * ${PART_WORDS}u;
  var amax = 0u;
  if (spread) {
    var pv = -3.4e38;
    var pi = 0xffffffffu;
    for (var w = lid; w < p.nparts; w += ${W}u) {
      let v = bitcast<f32>(parts[pb + w * ${PART_WORDS}u]);
      let i = parts[pb + w * ${PART_WORDS}u + 1u];
      if (better(v, i, pv, pi)) { pv = v; pi = i; }
    }
    amax = argmaxReduce(lid, pv, pi).y;
  } else {
    // ${U} loads in flight per invocation, into four independent running maxima (the compares of one do not wait on
    // another's loads).
    var bv = array<f32, 4>(-3.4e38, -3.4e38, -3.4e38, -3.4e38);
    var bi = array<u32, 4>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
    var i0 = lid;
    for (; i0 + ${(U - 1) * W}u < V; i0 += ${U * W}u) {
      ${Array.from({ length: U }, (_, q) => `let v${q} = logits[base + i0 + ${q * W}u];`).join('\n    ')}
      ${Array.from({ length: U }, (_, q) => `if (better(v${q}, i0 + ${q * W}u, bv[${q % 4}], bi[${q % 4}])) { bv[${q % 4}] = v${q}; bi[${q % 4}] = i0 + ${q * W}u; }`).join('\n    ')}
    }
    for (; i0 < V; i0 += ${W}u) {
      let v = logits[base + i0];
      if (better(v, i0, bv[0], bi[0])) { bv[0] = v; bi[0] = i0; }
    }
    for (var q = 1u; q < 4u; q++) { if (better(bv[q], bi[q], bv[0], bi[0])) { bv[0] = bv[q]; bi[0] = bi[q]; } }
    amax = argmaxReduce(lid, bv[0], bi[0]).y;
  }
  let mx = logits[base + amax];
  // log Σ exp(l - max) of the raw logits, for the log-probability of the pick (only when asked: one more pass).
  var lz = 0.0;
  if (p.lpIndex != 0xffffffffu) {
    var z0 = 0.0;
    if (spread) {
      for (var w = lid; w < p.nparts; w += ${W}u) {
        z0 += exp(bitcast<f32>(parts[pb + w * ${PART_WORDS}u]) - mx) * bitcast<f32>(parts[pb + w * ${PART_WORDS}u + 2u]);
      }
    } else {
      for (var i = lid; i < V; i += ${W}u) { z0 += exp(logits[base + i] - mx); }
    }
    lz = log(sumReduce(lid, z0));
  }
  if (p.gumbelParts == 1u) {
    // A plain temperature draw: the best Gumbel key of the records.
    var gv = -3.4e38;
    var gi = 0xffffffffu;
    for (var w = lid; w < p.nparts; w += ${W}u) {
      let v = bitcast<f32>(parts[pb + w * ${PART_WORDS}u + 3u]);
      let i = parts[pb + w * ${PART_WORDS}u + 4u];
      if (better(v, i, gv, gi)) { gv = v; gi = i; }
    }
    let pickG = argmaxReduce(lid, gv, gi).y;
    if (lid == 0u) {
      tokens[p.outIndex + wid.x] = pickG;
      if (p.lpIndex != 0xffffffffu) { tokens[p.lpIndex + wid.x] = bitcast<u32>(logits[base + pickG] - mx - lz); }
    }
    return;
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
  var cand = false;
  var nc = 0u;
  if (p.topK > 0u || p.topP < 1.0) {
    ${C > 0 ? `for (var b = lid; b < ${BINS}u; b += ${W}u) { atomicStore(&hist[b], 0u); atomicStore(&hmass[b], 0u); }
    if (lid == 0u) { atomicStore(&ncand, 0u); atomicStore(&bestK, 0u); atomicStore(&bestP, 0u); }
    workgroupBarrier();` : ''}
    var total = 0.0;
    if (p.histParts == 1u) {
      // The records hold each slice's Σ exp(z) and histogram (the same per-token arithmetic as the pass below).
      for (var w = lid; w < p.nparts; w += ${W}u) { total += bitcast<f32>(parts[pb + w * ${PART_WORDS}u + 5u]); }
      ${C > 0 ? `for (var t = lid; t < p.nparts * ${BINS}u; t += ${W}u) {
        let w = t / ${BINS}u;
        let b = t % ${BINS}u;
        atomicAdd(&hist[b], parts[pb + w * ${PART_WORDS}u + ${HIST0}u + b]);
        atomicAdd(&hmass[b], parts[pb + w * ${PART_WORDS}u + ${HIST0 + BINS}u + b]);
      }` : ''}
    }
    for (var i = select(lid, V, p.histParts == 1u); i < V; i += ${W}u) {
      let z = (logits[base + i] - mx) * invT;
      total += exp(z);
      ${
        C > 0
          ? `if (z >= -64.0) {
        // Count, and mass relative to the bin's upper edge in 2^-14 units, truncated (at most 2^14 per token and
        // 2^18 tokens per bin: no overflow): a lower bound within ~1e-4.
        let b = min(u32((z + 64.0) * 4.0), ${BINS - 1}u);
        atomicAdd(&hist[b], 1u);
        atomicAdd(&hmass[b], u32(exp(min(z - (f32(b) * 0.25 - 63.75), 0.0)) * 16384.0));
      }`
          : ''
      }
    }
    total = sumReduce(lid, total);
    ${
      C > 0
        ? `// Suffix sums from the top bin down: tokens, and their mass (a lower bound).
    for (var b = lid; b < ${BINS}u; b += ${W}u) {
      sc[b] = f32(atomicLoad(&hist[b]));
      sm[b] = f32(atomicLoad(&hmass[b])) * exp(f32(b) * 0.25 - 63.75) / 16384.0;
    }
    for (var d = 1u; d < ${BINS}u; d <<= 1u) {
      workgroupBarrier();
      var ac = 0.0;
      var am = 0.0;
      if (lid < ${BINS}u && lid + d < ${BINS}u) { ac = sc[lid + d]; am = sm[lid + d]; }
      workgroupBarrier();
      if (lid < ${BINS}u) { sc[lid] += ac; sm[lid] += am; }
    }
    workgroupBarrier();
    // Bin b + 1 (so 0 means none): the highest bin whose lower edge keeps k tokens / mass p above it.
    if (lid < ${BINS}u) {
      if (p.topK > 0u && sc[lid] >= f32(p.topK)) { atomicMax(&bestK, lid + 1u); }
      if (p.topP < 1.0 && sm[lid] >= p.topP * total) { atomicMax(&bestP, lid + 1u); }
    }
    workgroupBarrier();
    if (lid == 0u) {
      let bk = atomicLoad(&bestK);
      let bp = atomicLoad(&bestP);
      // The threshold is the larger of the active filters' thresholds, so it lies above either bound; a quarter bin
      // below the edge absorbs rounding in the binning.
      let b = max(bk, bp);
      z0U = select(1.0, f32(b - 1u) * 0.25 - 64.25, b > 0u);
    }
    let z0 = workgroupUniformLoad(&z0U);
    var cmass = 0.0;
    if (z0 <= 0.0) {
      for (var i = lid; i < V; i += ${W}u) {
        let z = (logits[base + i] - mx) * invT;
        if (z >= z0) {
          cmass += exp(z);
          let c = atomicAdd(&ncand, 1u);
          if (c < ${C}u) { cz[c] = z; ci[c] = i; }
        }
      }
    }
    cmass = sumReduce(lid, cmass);
    if (lid == 0u) { ncandU = atomicLoad(&ncand); }
    nc = workgroupUniformLoad(&ncandU);
    // Exact check: the candidates hold the threshold if there are at least k of them (top-k) or they carry mass p.
    cand = z0 <= 0.0 && nc <= ${C}u && ((p.topK > 0u && nc >= p.topK) || (p.topP < 1.0 && cmass >= p.topP * total));`
        : ''
    }
    var lo = select(-60.0, ${C > 0 ? 'z0' : '0.0'}, cand);
    var hi = 0.0;
    for (var it = 0u; it < 32u; it++) {
      let mid = 0.5 * (lo + hi);
      var cnt = 0u;
      var mass = 0.0;
      if (cand) {
        for (var c = lid; c < nc; c += ${W}u) {
          let z = ${C > 0 ? 'cz[c]' : '0.0'};
          if (z >= mid) { cnt += 1u; mass += exp(z); }
        }
      } else {
        for (var i = lid; i < V; i += ${W}u) {
          let z = (logits[base + i] - mx) * invT;
          if (z >= mid) { cnt += 1u; mass += exp(z); }
        }
      }
      let mc = massCountReduce(lid, mass, cnt);
      // Largest threshold that still keeps k tokens (top-k) or mass p (top-p): both filters applied = the tighter.
      let goodK = p.topK > 0u && mc.y >= f32(p.topK);
      let goodP = p.topP < 1.0 && mc.x >= p.topP * total;
      if (goodK || goodP) { lo = mid; } else { hi = mid; }
    }
    thr = lo;
  }
  let key = (p.seed + pcg(p.counter + wid.x * 0x9E3779B9u));
  var gv = -3.4e38;
  var gi = 0xffffffffu;
  if (cand) {
    for (var c = lid; c < nc; c += ${W}u) {
      let z = ${C > 0 ? 'cz[c]' : '0.0'};
      let i = ${C > 0 ? 'ci[c]' : '0u'};
      if (z >= thr) {
        let h = pcg(i ^ pcg(key));
        let u = (f32(h >> 8u) + 0.5) / 16777216.0;
        let v = z - log(-log(u));
        if (better(v, i, gv, gi)) { gv = v; gi = i; }
      }
    }
  } else {
    for (var i = lid; i < V; i += ${W}u) {
      let z = (logits[base + i] - mx) * invT;
      if (z >= thr) {
        let h = pcg(i ^ pcg(key));
        let u = (f32(h >> 8u) + 0.5) / 16777216.0;
        let v = z - log(-log(u));
        if (better(v, i, gv, gi)) { gv = v; gi = i; }
      }
    }
  }
  let pick = argmaxReduce(lid, gv, gi).y;
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
    /**
     * Spread the vocabulary passes over many workgroups first (samplePartialsPrograms; `parts` holds their records):
     * greedy and plain temperature draws then finish from the records (the same picks); top-k / top-p draws take the
     * maximum, Σ exp and histogram from them and keep the candidate gathering and bisection in one workgroup.
     */
    partials?: { programs: SamplePartialsPrograms; parts: BufferRef };
  } & SampleParams,
): void {
  const filtered = (a.topK ?? 0) > 0 || (a.topP ?? 1) < 1;
  const pp = a.partials ?? null;
  const gumbelParts = !!pp && a.temperature > 0 && !filtered;
  const histParts = !!pp && a.temperature > 0 && filtered;
  if (pp) {
    const { max, gumbel, hist, groups } = pp.programs;
    const prm = {
      row0: a.row0 ?? 0,
      temperature: a.temperature,
      seed: a.seed ?? 0,
      counter: a.counter ?? 0,
    };
    rec.dispatch(max, [a.logits, pp.parts], prm, [groups, a.rows]);
    if (gumbelParts) rec.dispatch(gumbel, [a.logits, pp.parts], prm, [groups, a.rows]);
    if (histParts) rec.dispatch(hist, [a.logits, pp.parts], prm, [groups, a.rows]);
  }
  rec.dispatch(
    program,
    // Without partials `parts` is a stand-in nothing reads (not `tokens`: a buffer may not be both writable and read-only).
    [a.logits, a.tokens, a.partials?.parts ?? a.logits],
    {
      nparts: pp ? pp.programs.groups : 0,
      gumbelParts: gumbelParts ? 1 : 0,
      histParts: histParts ? 1 : 0,
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

/**
 * u32 words per workgroup record of the partial passes: max bits, its index, Σ exp(l - max) bits, Gumbel best bits,
 * its index, Σ exp(z) bits (z = (l - row max)/T), two spare; then from HIST0 the slice's histogram of z (BINS counts,
 * BINS fixed-point masses) for the top-k / top-p bound.
 */
const HIST0 = 8;
const PART_WORDS = HIST0 + 2 * BINS;

export interface SamplePartialsPrograms {
  /** Per workgroup of a row: the slice's argmax and Σ exp(l - its max). */
  max: KernelProgram;
  /** Per workgroup: the slice's best Gumbel key z - log(-log u), with z = (l - max)/T from the merged maxima. */
  gumbel: KernelProgram;
  /** Per workgroup (top-k / top-p draws): the slice's Σ exp(z) and histogram of z, as sampleProgram's pass makes them. */
  hist: KernelProgram;
  /** Workgroups per row. */
  groups: number;
}

/** Bytes of the `parts` buffer that `rows` rows need. */
export function samplePartsBytes(p: SamplePartialsPrograms, rows: number): number {
  return rows * p.groups * PART_WORDS * 4;
}

/**
 * The passes of `sampleProgram` over the vocabulary, spread over `groups` workgroups per row (one workgroup reading
 * a 201088-entry row is latency-bound: 22 µs for the argmax, ~100 µs for a temperature draw on the H100). Each
 * workgroup reduces a contiguous slice; `sampleProgram` merges the records with the same tie rule (lowest index), so
 * the picks are those of the one-workgroup passes. The Gumbel keys use the row's maximum (merged from the first
 * pass's records), computed exactly as the one-workgroup pass does.
 */
export function samplePartialsPrograms(V: number, groups = Math.min(128, Math.ceil(V / 1024))): SamplePartialsPrograms {
  const W = 256;
  const S = Math.ceil(V / groups);
  const common = /* wgsl */ `
const V = ${V}u;
const S = ${S}u;
${sampleHelpers(W)}`;
  const bindings = [
    { name: 'logits', type: 'array<f32>', access: 'read' as const },
    { name: 'parts', type: 'array<u32>', access: 'read_write' as const },
  ];
  const params = [
    ['row0', 'u32'],
    ['temperature', 'f32'],
    ['seed', 'u32'],
    ['counter', 'u32'],
  ] as const;
  const head = /* wgsl */ `
  let row = wid.y;
  let base = (p.row0 + row) * V;
  let i0 = wid.x * S;
  let i1 = min(i0 + S, V);
  let rb = (row * ${groups}u + wid.x) * ${PART_WORDS}u;`;
  // The row's maximum from the first pass's records (the value at the argmax, as the one-workgroup pass reads it).
  const rowMax = /* wgsl */ `  var mv = -3.4e38;
  var mi = 0xffffffffu;
  for (var w = lid; w < ${groups}u; w += ${W}u) {
    let r = (row * ${groups}u + w) * ${PART_WORDS}u;
    let v = bitcast<f32>(parts[r]);
    let i = parts[r + 1u];
    if (better(v, i, mv, mi)) { mv = v; mi = i; }
  }
  let mx = logits[base + argmaxReduce(lid, mv, mi).y];`;
  const program = (kind: string, decls: string, main: string): KernelProgram => ({
    name: 'sample_partials',
    cacheKey: `sample_partials:${kind}:V${V}:G${groups}`,
    bindings,
    params,
    body: () => /* wgsl */ `${common}
${decls}@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {${head}
${main}
}`,
  });
  const max = program(
    'max',
    '',
    /* wgsl */ `  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var i = i0 + lid; i < i1; i += ${W}u) {
    let v = logits[base + i];
    if (better(v, i, bv, bi)) { bv = v; bi = i; }
  }
  let best = argmaxReduce(lid, bv, bi);
  let m = bitcast<f32>(best.x);
  var z = 0.0;
  for (var i = i0 + lid; i < i1; i += ${W}u) { z += exp(logits[base + i] - m); }
  let total = sumReduce(lid, z);
  if (lid == 0u) {
    parts[rb] = best.x;
    parts[rb + 1u] = best.y;
    parts[rb + 2u] = bitcast<u32>(total);
  }`,
  );
  const gumbel = program(
    'gumbel',
    '',
    /* wgsl */ `${rowMax}
  let invT = 1.0 / p.temperature;
  let key = (p.seed + pcg(p.counter + row * 0x9E3779B9u));
  var gv = -3.4e38;
  var gi = 0xffffffffu;
  for (var i = i0 + lid; i < i1; i += ${W}u) {
    let z = (logits[base + i] - mx) * invT;
    let h = pcg(i ^ pcg(key));
    let u = (f32(h >> 8u) + 0.5) / 16777216.0;
    let v = z - log(-log(u));
    if (better(v, i, gv, gi)) { gv = v; gi = i; }
  }
  let best = argmaxReduce(lid, gv, gi);
  if (lid == 0u) {
    parts[rb + 3u] = best.x;
    parts[rb + 4u] = best.y;
  }`,
  );
  const hist = program(
    'hist',
    `var<workgroup> hist: array<atomic<u32>, ${BINS}>;
var<workgroup> hmass: array<atomic<u32>, ${BINS}>;
`,
    /* wgsl */ `${rowMax}
  for (var b = lid; b < ${BINS}u; b += ${W}u) { atomicStore(&hist[b], 0u); atomicStore(&hmass[b], 0u); }
  workgroupBarrier();
  let invT = 1.0 / p.temperature;
  var total = 0.0;
  for (var i = i0 + lid; i < i1; i += ${W}u) {
    let z = (logits[base + i] - mx) * invT;
    total += exp(z);
    if (z >= -64.0) {
      let b = min(u32((z + 64.0) * 4.0), ${BINS - 1}u);
      atomicAdd(&hist[b], 1u);
      atomicAdd(&hmass[b], u32(exp(min(z - (f32(b) * 0.25 - 63.75), 0.0)) * 16384.0));
    }
  }
  total = sumReduce(lid, total);
  for (var b = lid; b < ${BINS}u; b += ${W}u) {
    parts[rb + ${HIST0}u + b] = atomicLoad(&hist[b]);
    parts[rb + ${HIST0 + BINS}u + b] = atomicLoad(&hmass[b]);
  }
  if (lid == 0u) { parts[rb + 5u] = bitcast<u32>(total); }`,
  );
  return { max, gumbel, hist, groups };
}
