/**
 * GPU benchmark for @gptoss/kernels-webgpu. Bundled into one file (bench/bundle.mjs → .device/bench.mjs) and run on
 * the device machine; see bench/RESULTS.md. Everything it needs is made here: a tiny random checkpoint checked
 * against the TypeScript reference on the fast path, then full-size random gpt-oss checkpoints generated in memory.
 *
 *   node bench.mjs [--models 20b,120b] [--steps 48] [--contexts 128,4096,16384] [--prefill 2048] [--skip-check]
 *     [--prefill-variants 0] [--prefill-ab gemm]   (prefill A/B: MoE variants by default, or GEMV vs tiled GEMM)
 *
 * Diagnostics (each A/B runs in one process; RESULTS.md says what each found):
 *   decode, first context:  --gap-probe (GPU busy / idle per step, slow yields, GC)  --record-probe (host time)
 *     --kernel-split (GPU time per kind of kernel)  --drop rope_kv,router  --moe-ab 4/4,2/4  --router-ab  --prefetch-ab  --depth-ab 3,6
 *     --gemv-diag none,constX,xorW,both,noride (layer GEMVs without x loads / arithmetic: timing only; without the router read-ahead)
 *     --attn-ab 128,256 (every context)  --narrow-ab 1,2,4,8  --spread-ab  --decode-diag  --occupancy  --sample-bench
 *   prefill:  --prefill-profile (GPU time per kernel of one chunk)  --smat-tiles 64/32,64/128  --chunk N
 *   checks:  --checks smat (only the subgroup-matrix tiny checks)
 *   context:  --kv f16  --validation 1  --portable 1  --f16 0  --smat 0  --robustness-ab
 */
import { createNodeGpuContext, type GpuContext } from '../src/gpu.js';
import { PerformanceObserver } from 'node:perf_hooks';
import { gemvBf16, gemvBf16Program } from '../src/kernels/gemv-bf16.js';
import { moeMlp1, moeMlp1Program, type MoeProgramOptions } from '../src/kernels/moe-mlp1.js';
import { moeMlp2, moeMlp2Program } from '../src/kernels/moe-mlp2.js';
import { sample, sampleCandidatesFor, samplePartialsPrograms, samplePartsBytes, sampleProgram, type SampleParams } from '../src/kernels/sample.js';
import { GptOssGpu, type GptOssConfig, type TensorSource } from '../src/model/gpt-oss.js';
import { rng } from '../test/random.js';
import { refForward, TINY, tinyWeights } from '../test/tiny-model.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a.startsWith('--')) {
    const next = process.argv[i + 1];
    if (next && !next.startsWith('--')) {
      args.set(a.slice(2), next);
      i++;
    } else args.set(a.slice(2), '1');
  }
}
const models = (args.get('models') ?? '20b').split(',').filter(Boolean);
const steps = Number(args.get('steps') ?? 48);
const contexts = (args.get('contexts') ?? '128,4096,16384').split(',').map(Number);
const prefillTokens = Number(args.get('prefill') ?? 2048);
// --fold 1 (or --fold-ab): models load with the router fold (LoadGptOssOptions.routerFold), tiny checks included.
const foldAtLoad = args.get('fold') === '1' || args.has('fold-ab');
const rows: string[][] = [];
const t0 = performance.now();
const log = (...a: unknown[]) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);

function relL2(a: Float32Array, b: Float32Array): number {
  let n = 0;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    n += (a[i] - b[i]) ** 2;
    d += b[i] ** 2;
  }
  return Math.sqrt(n / d);
}

const NO_ROBUSTNESS = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,disable_robustness'];

async function tinyCheck(
  fast: boolean,
  f16 = true,
  dawnFlags?: string[],
  variant?: MoeProgramOptions,
  grouped?: { minTokens: number; tiled: boolean },
  gemmMin?: number,
  smat?: boolean,
  cfg: GptOssConfig = TINY,
  chunk = 16,
  nTok = 40,
): Promise<boolean> {
  let ctx: GpuContext;
  try {
    ctx = await createNodeGpuContext({ fast, f16, dawnFlags });
  } catch (e) {
    rows.push([`tiny correctness fast=${fast} f16=${f16}`, 'ERROR', String(e).slice(0, 300)]);
    return false;
  }
  try {
  const w = tinyWeights(cfg, 11);
  const tokens = Array.from({ length: nTok }, (_, i) => (i * 131 + 7) % cfg.vocabSize);
  const want = refForward(cfg, w.values, tokens);
  const V = cfg.vocabSize;
  const m = await GptOssGpu.load(ctx, cfg, w.source, { maxContext: Math.max(64, nTok + 8), prefillChunk: chunk, routerFold: foldAtLoad });
  if (smat !== undefined) m.setSubgroupMatrix(smat);
  if (m.subgroupMatrixError) log(`subgroup-matrix probe failed: ${m.subgroupMatrixError.slice(0, 1500)}`);
  if (ctx.probeMessages.length) log(`probe messages: ${ctx.probeMessages.join(' | ').slice(0, 1500)}`);
  if (variant) m.setMoeVariant(variant);
  if (grouped) m.setGroupedMoe(grouped.minTokens, grouped.tiled);
  if (gemmMin !== undefined) m.setPrefillGemm(gemmMin);
  const s = m.createSequence();
  const pre = await m.prefill(s, tokens.slice(0, nTok - 4), { logits: 'all' });
  const preErr = relL2(pre, want.subarray(0, (nTok - 4) * V));
  let decErr = 0;
  for (let t = nTok - 4; t < nTok; t++) {
    const d = await m.decode([{ sequence: s, token: tokens[t] }]);
    decErr = Math.max(decErr, relL2(d, want.subarray(t * V, (t + 1) * V)));
  }
  const worst = Math.max(preErr, decErr);
  log(`tiny check ${ctx.caps.description} f16=${ctx.caps.f16}: rel L2 ${worst.toExponential(2)}`);
  const tol = ctx.caps.f16 ? 2e-2 : 1e-3;
  rows.push([
    `tiny correctness (${fast ? 'fast' : 'portable'} path${ctx.caps.f16 ? ', f16 MoE' : ', f32'}${dawnFlags ? ', robustness off' : ''}${variant ? ` ${JSON.stringify(variant)}` : ''}${grouped ? ` grouped ${JSON.stringify(grouped)}` : ''}${gemmMin !== undefined ? ` bf16 GEMM from ${gemmMin}` : ''}${m.usesSubgroupMatrix ? ' SUBGROUP-MATRIX' : ''}${cfg === TINY ? '' : ` H${cfg.hiddenSize} I${cfg.intermediateSize} V${cfg.vocabSize} E${cfg.numExperts}`}${chunk !== 16 ? ` chunk ${chunk} tiles ${m.smatTiles.dense}/${m.smatTiles.moe}` : ''}${nTok !== 40 ? ` ${nTok} tokens` : ''})`,
    `rel L2 ${worst.toExponential(2)} (prefill ${preErr.toExponential(2)}, decode ${decErr.toExponential(2)})`,
    worst <= tol ? `PASS (<=${tol})` : 'FAIL',
  ]);
  m.dispose();
  ctx.destroy();
  return worst <= tol;
  } catch (e) {
    rows.push([`tiny correctness fast=${fast} f16=${f16}`, 'ERROR', String(e).slice(0, 300)]);
    ctx.destroy();
    return false;
  }
}

/** A random full-size checkpoint, made on the fly tensor by tensor from a shared random pool. */
function randomSource(c: GptOssConfig): TensorSource {
  const POOL = 1 << 26;
  const pool = new Uint8Array(POOL + 4096);
  let x = 0x12345678;
  const u32 = new Uint32Array(pool.buffer);
  for (let i = 0; i < u32.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    u32[i] = x >>> 0;
  }
  // bf16 in ±[2^-7, 2^-5): small, finite, sign random
  const bf = new Uint16Array(POOL / 2 + 2048);
  const p16 = new Uint16Array(pool.buffer);
  for (let i = 0; i < bf.length; i++) bf[i] = (p16[i] & 0x80ff) | 0x3c00;
  let salt = 0;
  const fill = (n: number, src: Uint8Array): Uint8Array => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const off = (salt = (salt * 1103515245 + 12345) >>> 0) % 4096;
      const len = Math.min(n - o, POOL - 4096);
      out.set(src.subarray(off * 2, off * 2 + len), o);
      o += len;
    }
    return out;
  };
  const bfBytes = new Uint8Array(bf.buffer);
  const specShape = (name: string): number => {
    const H = c.hiddenSize;
    const I = c.intermediateSize;
    const E = c.numExperts;
    const QKVW = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim;
    if (name === 'embedding.weight' || name === 'unembedding.weight') return c.vocabSize * H;
    if (name.endsWith('norm.scale')) return H;
    if (name.endsWith('qkv.weight')) return QKVW * H;
    if (name.endsWith('qkv.bias')) return QKVW;
    if (name.endsWith('sinks')) return c.numAttentionHeads;
    if (name.endsWith('out.weight')) return H * c.numAttentionHeads * c.headDim;
    if (name.endsWith('out.bias')) return H;
    if (name.endsWith('gate.weight')) return E * H;
    if (name.endsWith('gate.bias')) return E;
    if (name.endsWith('mlp1_weight.blocks')) return E * 2 * I * (H / 2);
    if (name.endsWith('mlp1_weight.scales')) return E * 2 * I * (H / 32);
    if (name.endsWith('mlp1_bias')) return E * 2 * I;
    if (name.endsWith('mlp2_weight.blocks')) return E * H * (I / 2);
    if (name.endsWith('mlp2_weight.scales')) return E * H * (I / 32);
    if (name.endsWith('mlp2_bias')) return E * H;
    throw new Error(`unknown tensor ${name}`);
  };
  const read = async (name: string): Promise<Uint8Array> => {
    const n = specShape(name);
    if (name.endsWith('.blocks')) return fill(n, pool);
    if (name.endsWith('.scales')) return new Uint8Array(n).map((_, i) => 119 + (pool[i % POOL] % 4));
    if (name.endsWith('norm.scale')) return new Uint8Array(new Uint16Array(n).fill(0x3f80).buffer);
    return fill(n * 2, bfBytes);
  };
  return {
    dtype: (name) => (name.includes('.blocks') || name.includes('.scales') ? 'U8' : 'BF16'),
    read,
    readRange: async (name, s, e) => (await read(name)).subarray(s, e),
  };
}

const FULL: GptOssConfig = {
  numHiddenLayers: 24,
  numExperts: 32,
  expertsPerToken: 4,
  vocabSize: 201088,
  hiddenSize: 2880,
  intermediateSize: 2880,
  swigluLimit: 7,
  headDim: 64,
  numAttentionHeads: 64,
  numKeyValueHeads: 8,
  slidingWindow: 128,
  initialContextLength: 4096,
  ropeTheta: 150000,
  ropeScalingFactor: 32,
  ropeNtkAlpha: 1,
  ropeNtkBeta: 32,
};

async function timeSteps(ctx: GpuContext, n: number, record: () => void): Promise<number> {
  record();
  await ctx.sync();
  const t = performance.now();
  for (let i = 0; i < n; i++) record();
  await ctx.sync();
  return (performance.now() - t) / n;
}

/**
 * Sampler (`--sample-bench`): GPU time of one draw over the 201088-entry vocabulary, with and without the top-k / top-p
 * candidate list. Logits are synthetic and Zipf-like, as a language model's are (entry of rank r: -1.5·ln(1 + r) plus
 * noise, ranks shuffled): most of the mass in a few hundred tokens, the rest spread thin.
 */
async function sampleBench(ctx: GpuContext): Promise<void> {
  const V = 201088;
  const r = rng(7);
  const rank = Array.from({ length: V }, (_, i) => i);
  for (let i = V - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  const logits = new Float32Array(V).map((_, i) => -1.5 * Math.log(1 + rank[i]) + 0.5 * (r() - 0.5) + 12);
  const lb = ctx.upload(logits);
  const tokens = ctx.createBuffer(64 * 4);
  const W = Math.min(1024, ctx.device.limits.maxComputeInvocationsPerWorkgroup);
  const C = sampleCandidatesFor(ctx.caps.maxWorkgroupStorage, W);
  const modes: [string, SampleParams][] = [
    ['greedy', { temperature: 0 }],
    ['T 1', { temperature: 1 }],
    ['T 1, top-p 0.9', { temperature: 1, topP: 0.9 }],
    ['T 0.7, top-k 40', { temperature: 0.7, topK: 40 }],
  ];
  // The vocabulary passes spread over workgroups (samplePartialsPrograms; greedy and plain temperature draws).
  const pp = samplePartialsPrograms(V);
  const pbuf = ctx.createBuffer(samplePartsBytes(pp, 1));
  for (const [cands, spread] of [
    [0, false],
    [C, false],
    [C, true],
  ] as const) {
    const prog = sampleProgram(V, W, cands);
    const parts: string[] = [];
    for (const [label, sp] of modes) {
      ctx.enableProfiling(64, 'step');
      for (let rep = 0; rep < 8; rep++) {
        const rec = ctx.begin();
        for (let i = 0; i < 4; i++) {
          const partials = spread ? { programs: pp, parts: pbuf } : undefined;
          sample(rec, prog, { logits: lb, tokens, rows: 1, outIndex: i, ...sp, seed: 1, counter: rep * 4 + i, partials });
        }
        rec.submit();
      }
      await ctx.sync();
      const us = (await ctx.readTimes()).map((t) => t.us / 4).sort((a, b) => a - b);
      ctx.profiler = null;
      parts.push(`${label} ${us[us.length >> 1].toFixed(1)} us`);
    }
    rows.push([`sampler, V ${V}, ${W} invocations, ${cands} candidates${spread ? `, passes over ${pp.groups} workgroups` : ''}`, '', parts.join('; ')]);
    log(rows[rows.length - 1].join(' | '));
  }
  lb.destroy();
  tokens.destroy();
  pbuf.destroy();
}

/** Uninitialised buffers with the sizes of one gpt-oss-20b layer's MoE weights (32 experts, H = I = 2880). */
function moeWeights20b(ctx: GpuContext) {
  return {
    b1: ctx.createBuffer(32 * 5760 * 1440),
    s1: ctx.createBuffer(32 * 5760 * 90),
    bias1: ctx.createBuffer(32 * 5760 * 4),
    b2: ctx.createBuffer(32 * 2880 * 1440),
    s2: ctx.createBuffer(32 * 2880 * 90),
    bias2: ctx.createBuffer(32 * 2880 * 4),
  };
}

/**
 * Residency probe (`--occupancy`): GPU time of one MoE decode dispatch at 20b shapes with 132·m workgroups (m tokens
 * × 4 experts × 33 row groups). If a dispatch of 2·132 takes about as long as one of 132, two workgroups share an SM;
 * if twice as long, one fits. Steps of 20 dispatches timed with GPU timestamps.
 */
async function occupancyProbe(ctx: GpuContext): Promise<void> {
  const s = { H: 2880, I: 2880, E: 32, k: 4, expertsPerPart: 32 };
  const T = 8;
  const { b1, s1, bias1, b2, s2, bias2 } = moeWeights20b(ctx);
  const logits = ctx.upload(new Float32Array(32 * T).map((_, i) => ((i * 7) % 11) + (i % 32) * 0.01));
  const act = ctx.createBuffer(T * 4 * 2880 * 4);
  const xn = ctx.createBuffer(T * 2880 * 4);
  const x = ctx.createBuffer(T * 2880 * 4);
  // The model's decode on the f16 path (raw pairs, two words per chain); scales as if the inputs were prescaled.
  const decode = ctx.caps.f16 ? { raw: true, chain: 2 as const } : undefined;
  const shapes: [string, MoeProgramOptions][] = [
    ['4/4', { halfActivations: ctx.caps.f16, decode }],
    ['2/4', { halfActivations: ctx.caps.f16, pairsPerGroup: 2, rowsPerGroup: 2, decode }],
    ['8/4', { halfActivations: ctx.caps.f16, pairsPerGroup: 8, decode }],
    // The decode before session 12, and none at all (loads XORed: the kernel's structure alone).
    ['4/4 decode c1', { halfActivations: ctx.caps.f16, decode: ctx.caps.f16 ? { chain: 1 } : undefined }],
    ['4/4 no decode (xor)', { halfActivations: ctx.caps.f16, decode: ctx.caps.f16 ? { xor: true } : undefined }],
  ];
  for (const [label, o] of shapes) {
    const p1 = moeMlp1Program(ctx.caps, s, o);
    const p2 = moeMlp2Program(ctx.caps, s, o);
    const parts: string[] = [];
    for (const m of [1, 2, 3, 4, 6, 8]) {
      for (const [which, prog, bufs, params] of [
        ['mlp1', p1, [b1, s1, bias1, xn, logits, act], { xRow0: 0, limit: 7, alpha: 1.702, xScale: 1, actOut: 1 }],
        ['mlp2', p2, [b2, s2, bias2, act, logits, x], { xRow0: 0, actScale: 1 }],
      ] as const) {
        ctx.enableProfiling(64, 'step');
        for (let rep = 0; rep < 6; rep++) {
          const rec = ctx.begin();
          // mlp1: y = token·k + slot; mlp2: y = token (its workgroups hold all k slots).
          for (let i = 0; i < 20; i++) rec.dispatch(prog, [...bufs], params, which === 'mlp1' ? [33, 4 * m] : [132, m]);
          rec.submit();
        }
        await ctx.sync();
        const us = (await ctx.readTimes()).map((t) => t.us / 20).sort((a, b) => a - b);
        ctx.profiler = null;
        parts.push(`${which} ${132 * m} wg ${us[us.length >> 1].toFixed(1)} us`);
      }
    }
    rows.push([`occupancy probe, MoE ${label}`, '', parts.join('; ')]);
    log(rows[rows.length - 1].join(' | '));
  }
  for (const b of [b1, s1, bias1, b2, s2, bias2, logits, act, xn, x]) b.destroy();
}

async function microbench(ctx: GpuContext, label = ''): Promise<void> {
  // Unembedding-sized bf16 GEMV: 201088 x 2880 (1.16 GB).
  const N = 201088;
  const K = 2880;
  const w = ctx.createBuffer(N * K * 2, 'w');
  const x = ctx.createBuffer(K * 4 * 8);
  const out = ctx.createBuffer(N * 4 * 8);
  for (const M of [1, 4]) {
    const prog = gemvBf16Program(ctx.caps, { K, M });
    const ms = await timeSteps(ctx, 20, () => {
      const rec = ctx.begin();
      gemvBf16(rec, prog, { parts: [{ buffer: w, rowStart: 0, rows: N }], x, out, outStride: N });
      rec.submit();
    });
    const gbs = (N * K * 2) / (ms / 1000) / 1e9;
    rows.push([`${label}GEMV bf16 ${N}x${K} M=${M}`, `${(ms * 1000).toFixed(0)} us`, `${gbs.toFixed(0)} GB/s`]);
  }
  w.destroy();
  // MoE decode, 20b layer shapes, 4 experts: mlp1 + mlp2.
  const s = { H: 2880, I: 2880, E: 32, k: 4, expertsPerPart: 32 };
  const { b1, s1, bias1, b2, s2, bias2 } = moeWeights20b(ctx);
  const logits = ctx.upload(new Float32Array(32).map((_, i) => (i * 7) % 5));
  const act = ctx.createBuffer(4 * 2880 * 4);
  const xs = ctx.upload(new Float32Array(K).fill(0.5));
  const common = { logits, tokens: 1 };
  const by1 = 4 * 5760 * (1440 + 90);
  const by2 = 4 * 2880 * (1440 + 90);
  const variants: [string, MoeProgramOptions][] = [
    ['loop form (previous)', { legacy: true }],
    ['unrolled 4/4 (default)', {}],
    ['unrolled 2/4', { pairsPerGroup: 2, rowsPerGroup: 4 }],
    ['unrolled 3/6', { pairsPerGroup: 3, rowsPerGroup: 6 }],
    ['unrolled 4/4 + LUT', { lut: true }],
  ];
  for (const [vn, vo] of variants) try {
    const p1 = moeMlp1Program(ctx.caps, s, vo);
    const p2 = moeMlp2Program(ctx.caps, s, vo);
    // 10 back-to-back dispatches per submit so that submit latency is amortised.
    const t1 = (await timeSteps(ctx, 20, () => {
      const rec = ctx.begin();
      for (let i = 0; i < 10; i++) moeMlp1(rec, p1, s, { ...common, blocks: [b1], scales: s1, bias: bias1, xn: xs, act, limit: 7 });
      rec.submit();
    })) / 10;
    const t2 = (await timeSteps(ctx, 20, () => {
      const rec = ctx.begin();
      for (let i = 0; i < 10; i++) moeMlp2(rec, p2, s, { ...common, blocks: [b2], scales: s2, bias: bias2, act, x: xs });
      rec.submit();
    })) / 10;
    rows.push([`${label}MoE mlp1+mlp2 ${vn} (MXFP4, 4 experts, 20b)`, `${(t1 * 1000).toFixed(1)} + ${(t2 * 1000).toFixed(1)} us`, `${(by1 / t1 / 1e6).toFixed(0)} + ${(by2 / t2 / 1e6).toFixed(0)} GB/s (x10 per submit, dependent)`]);
    log(rows[rows.length - 1].join(' | '));
  } catch (e) {
    rows.push([`${label}MoE ${vn}`, 'ERROR', String(e).slice(0, 300)]);
    log(rows[rows.length - 1].join(' | '));
  }
  // Dispatch cost: 100 tiny dispatches per submit, dependent (same output) in one pass, dependent one pass each,
  // independent (own outputs) in one pass; and the CPU time to record them.
  const tiny = gemvBf16Program(ctx.caps, { K: 8, M: 1 });
  const tw = ctx.createBuffer(64 * 16);
  const outs = Array.from({ length: 100 }, () => ctx.createBuffer(64));
  for (const mode of ['dependent, one pass', 'dependent, pass each', 'independent, one pass'] as const) {
    let cpu = 0;
    const td = await timeSteps(ctx, 10, () => {
      const tc = performance.now();
      const rec = ctx.begin();
      for (let i = 0; i < 100; i++) {
        if (mode === 'dependent, pass each') rec.breakPass();
        gemvBf16(rec, tiny, { parts: [{ buffer: tw, rowStart: 0, rows: 8 }], x, out: mode.startsWith('independent') ? outs[i] : out, outStride: 8 });
      }
      rec.submit();
      cpu += performance.now() - tc;
    });
    rows.push([`${label}dispatch cost (${mode})`, `${((td / 100) * 1000).toFixed(1)} us/dispatch`, `CPU record+submit ${((cpu / 11 / 100) * 1000).toFixed(1)} us/dispatch`]);
    log(rows[rows.length - 1].join(' | '));
  }
  for (const b of [b1, s1, bias1, b2, s2, bias2]) b.destroy();
}

/** Seconds per token of the generation loop on the GPU over `steps` tokens (appended to `seq`). */
async function secondsPerToken(m: GptOssGpu, seq: ReturnType<GptOssGpu['createSequence']>, depth?: number): Promise<number> {
  const t = performance.now();
  let count = 0;
  for await (const id of m.generate(seq, 1, steps, { temperature: 0 }, { depth })) {
    void id;
    count++;
  }
  return (performance.now() - t) / 1000 / count;
}

/**
 * Where a decode step's time goes, measured in place: the GPU time of whole steps (one pass, so the gaps between
 * dispatches count) with every dispatch, then without each group of kernels (the difference is that group's cost
 * including its share of gaps), and the host's record + submit time.
 */
/**
 * Median GPU time (µs) of whole decode steps in place (optionally with only the dispatches `keep` accepts), taken
 * inside the generation loop (3 steps in flight) so that the GPU never idles between the steps it times: idle gaps
 * let its clocks drop, which would inflate short steps.
 */
/** Workgroups of an out-projection GEMV dispatch: its rows', plus those reading the router's weights ahead. */
function outGemvWgs(m: GptOssGpu, cfg: GptOssConfig): number {
  const H = cfg.hiddenSize;
  if (m.routerFolded) return Math.ceil(H / 8) + cfg.numExperts;
  return Math.ceil(H / 8) + (m.rideRouter ? Math.ceil(Math.max(cfg.numExperts * H * 2, H * 4) / 16 / 256) : 0);
}

async function stepGpuUs(
  ctx: GpuContext,
  m: GptOssGpu,
  seq: ReturnType<GptOssGpu['createSequence']>,
  keep: ((p: { name: string }, wg: number) => boolean) | null,
): Promise<number> {
  const len = seq.tokens.length;
  for await (const id of m.generate(seq, 1, 4, { temperature: 0 })) void id;
  seq.truncate(len);
  ctx.dispatchFilter = keep;
  ctx.enableProfiling(40, 'step');
  for await (const id of m.generate(seq, 1, 24, { temperature: 0 })) void id;
  const per = (await ctx.readTimes()).slice(4).map((t) => t.us);
  ctx.dispatchFilter = null;
  ctx.profiler = null;
  seq.truncate(len);
  per.sort((a, b) => a - b);
  return per[per.length >> 1];
}

async function decodeDiag(ctx: GpuContext, m: GptOssGpu, seq: ReturnType<GptOssGpu['createSequence']>, label: string): Promise<void> {
  const groups: [string, ((name: string, wg: number) => boolean) | null][] = [
    ['all', null],
    ['without MoE', (n) => !n.startsWith('moe_')],
    ['without layer GEMVs', (n, wg) => n !== 'gemv_bf16' || wg > 20000],
    ['without unembedding', (n, wg) => n !== 'gemv_bf16' || wg <= 20000],
    ['without attention', (n) => !n.startsWith('attention') && n !== 'rope_kv'],
    ['only MoE', (n) => n.startsWith('moe_')],
    ['only layer GEMVs', (n, wg) => n === 'gemv_bf16' && wg <= 20000],
    ['only unembedding', (n, wg) => n === 'gemv_bf16' && wg > 20000],
    ['only attention', (n) => n.startsWith('attention') || n === 'rope_kv'],
    ['all again', null],
  ];
  const out: string[] = [];
  const len = seq.tokens.length;
  for (const [g, f] of groups) {
    ctx.dispatchFilter = f ? (p, wg) => f(p.name, wg) : null;
    const per: number[] = [];
    ctx.enableProfiling(4, 'step');
    for (let i = 0; i < 12; i++) {
      await m.decodeSample([{ sequence: seq, token: 1 }], { temperature: 0 });
      const prof = await ctx.readProfile();
      if (i >= 2) per.push(prof.totalUs);
      seq.truncate(len);
    }
    per.sort((a, b) => a - b);
    out.push(`${g} ${per[per.length >> 1].toFixed(0)} us (min ${per[0].toFixed(0)}; ${m.lastDispatches} dispatches)`);
  }
  ctx.dispatchFilter = null;
  ctx.profiler = null;
  rows.push([`${label} GPU time per whole step, in place`, out[0], out.slice(1).join('; ')]);
  log(rows[rows.length - 1].join(' | '));
  // Host cost of recording + submitting a step (no waiting): 20 steps back to back, then wait.
  const tc = performance.now();
  let rec = 0;
  for (let i = 0; i < 20; i++) {
    const t1 = performance.now();
    void m.decodeSample([{ sequence: seq, token: 1 }], { temperature: 0 });
    rec += performance.now() - t1;
    seq.truncate(len);
  }
  await ctx.sync();
  const wall = (performance.now() - tc) / 20;
  rows.push([`${label} host record + submit per step`, `${(rec / 20).toFixed(2)} ms`, `wall per step with 20 queued: ${wall.toFixed(2)} ms`]);
  log(rows[rows.length - 1].join(' | '));
}

/** GPU time per kernel (one pass per dispatch) of one prefill chunk at position 256, slowest first. */
async function profileChunk(ctx: GpuContext, m: GptOssGpu, seq: ReturnType<GptOssGpu['createSequence']>, toks: number[]) {
  seq.truncate(0);
  await m.prefill(seq, toks.slice(0, 256), { logits: 'none' });
  ctx.enableProfiling(2000);
  await m.prefill(seq, toks.slice(256, 256 + m.prefillChunk), { logits: 'none' });
  const prof = await ctx.readProfile();
  ctx.profiler = null;
  const parts = [...prof.kernels.entries()].sort((a, b) => b[1].us - a[1].us).map(([k, v]) => `${k} ${v.us.toFixed(0)}us/${v.count}`);
  return { prof, parts };
}

async function modelBench(ctx: GpuContext, name: string, cfg: GptOssConfig, onlyDecode = false): Promise<void> {
  const abTokens = (args.get('fold-ab')?.split(',').length ?? 0) * (steps + 8);
  const maxCtx = Math.max(...contexts, prefillTokens) + 3 * steps + 32 + abTokens;
  log(`loading random ${name} (maxContext ${maxCtx})`);
  const tl = performance.now();
  const m = await GptOssGpu.load(ctx, cfg, randomSource(cfg), {
    maxContext: maxCtx,
    prefillChunk: args.has('chunk') ? Number(args.get('chunk')) : undefined,
    // --kv f16: the f16 K/V cache (LoadGptOssOptions.kvCache).
    kvCache: args.get('kv') === 'f16' ? 'f16' : undefined,
    routerFold: foldAtLoad,
  });
  await m.sync();
  log(`loaded in ${((performance.now() - tl) / 1000).toFixed(1)} s; subgroup matrices ${m.usesSubgroupMatrix}${m.subgroupMatrixError ? ` (probe failed: ${m.subgroupMatrixError.slice(0, 1500)})` : ''}`);
  const weightBytes = m.decodeWeightBytes();
  {
    // Warm-up: the first steps after loading run next to the loader's garbage collection.
    const w = m.createSequence(256);
    for await (const id of m.generate(w, 1, 64, { temperature: 0 })) void id;
    w.dispose();
  }
  for (const c of onlyDecode ? contexts.slice(0, 1) : contexts) {
    const seq = m.createSequence();
    for (let i = 0; i < c - 1; i++) seq.tokens.push(0);
    let tok = 1;
    for (let i = 0; i < 3; i++) tok = (await m.decodeSample([{ sequence: seq, token: tok }], { temperature: 0 }))[0] % cfg.vocabSize;
    const t = performance.now();
    for (let i = 0; i < steps; i++) {
      tok = (await m.decodeSample([{ sequence: seq, token: tok }], { temperature: 0 }))[0] % cfg.vocabSize;
    }
    const dtSync = (performance.now() - t) / 1000 / steps;
    // The generation loop on the GPU (ids fed back on device, 3 steps in flight).
    for await (const id of m.generate(seq, tok, 3, { temperature: 0 })) void id;
    const dt = await secondsPerToken(m, seq);
    // KV read per step: full layers read every cached position, sliding ones at most the window.
    let kvBytes = 0;
    for (let l = 0; l < cfg.numHiddenLayers; l++) {
      const n = l % 2 === 0 ? Math.min(c, cfg.slidingWindow) : c;
      kvBytes += n * cfg.numKeyValueHeads * cfg.headDim * (m.kvHalf ? 2 : 4) * 2;
    }
    const bytes = weightBytes + kvBytes;
    if (args.has('depth-ab') && c === contexts[0]) {
      // Steps in flight in the generation loop (default 3), A/B in one process.
      for (const depth of args.get('depth-ab')!.split(',').map(Number)) {
        const len = seq.tokens.length;
        const dv = await secondsPerToken(m, seq, depth);
        seq.truncate(len);
        rows.push([`${name} decode @ctx ${c}, ${depth} steps in flight`, `${(1 / dv).toFixed(1)} tok/s (${(dv * 1000).toFixed(2)} ms)`, '']);
        log(rows[rows.length - 1].join(' | '));
      }
    }
    rows.push([
      `${name} decode @ctx ${c}`,
      `${(1 / dt).toFixed(1)} tok/s (${(dt * 1000).toFixed(2)} ms; ${(1 / dtSync).toFixed(1)} tok/s with a host round trip per step)`,
      `${(bytes / dt / 1e9).toFixed(0)} GB/s of ${(bytes / 1e9).toFixed(2)} GB/token; ${m.lastDispatches} dispatches; CPU record ${m.lastRecordMs.toFixed(2)} ms/step; paced step ${m.lastPacedStepMs.toFixed(2)} ms`,
    ]);
    if (args.has('record-probe') && c === contexts[0]) {
      // Host cost of a step: recording alone (steps dropped unsubmitted, the GPU idle) against the record time of the
      // steps of a generation loop (GPU busy, readbacks awaited in between).
      const pure: number[] = [];
      for (let i = 0; i < 60; i++) pure.push(m.recordOnly([{ sequence: seq, token: 1 }]));
      const inLoop: number[] = [];
      const len = seq.tokens.length;
      for await (const id of m.generate(seq, 1, 64, { temperature: 0 })) {
        void id;
        inLoop.push(m.lastRecordMs);
      }
      seq.truncate(len);
      const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
      rows.push([`${name} decode @ctx ${c}, host record per step`, `alone ${med(pure.slice(10)).toFixed(2)} ms`, `in the generation loop ${med(inLoop.slice(4)).toFixed(2)} ms (median), ${m.lastDispatches} dispatches`]);
      log(rows[rows.length - 1].join(' | '));
    }
    if (args.has('gap-probe') && c === contexts[0]) {
      // Where the wall time per token goes: GPU busy per step against the period between step starts (idle = the
      // difference), and the host's record and wait per token, in one generation loop with step timestamps.
      const len = seq.tokens.length;
      for (const depth of [3, 6, 3]) {
        const gcs: { kind: number; ms: number }[] = [];
        const obs = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) gcs.push({ kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1, ms: e.duration });
        });
        obs.observe({ entryTypes: ['gc'] });
        ctx.enableProfiling(200, 'step');
        const t0 = performance.now();
        let k = 0;
        const waits: number[] = [];
        let tw = performance.now();
        for await (const id of m.generate(seq, 1, 192, { temperature: 0 }, { depth })) {
          void id;
          waits.push(performance.now() - tw);
          tw = performance.now();
          k++;
        }
        const wall = (performance.now() - t0) / k;
        obs.disconnect();
        const st = (await ctx.readStamps()).slice(8);
        ctx.profiler = null;
        seq.truncate(len);
        const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
        const busy = med(st.map((s) => s.endUs - s.beginUs));
        const period = med(st.slice(1).map((s, i) => s.beginUs - st[i].beginUs));
        const gap = med(st.slice(1).map((s, i) => s.beginUs - st[i].endUs));
        const mean = (st[st.length - 1].beginUs - st[0].beginUs) / (st.length - 1);
        rows.push([
          `${name} decode @ctx ${c}, ${depth} in flight: GPU busy / period / idle per step`,
          `${busy.toFixed(0)} / ${period.toFixed(0)} (mean ${mean.toFixed(0)}) / ${gap.toFixed(0)} us`,
          `wall ${wall.toFixed(2)} ms/token; host record ${m.lastRecordMs.toFixed(2)} ms (last); paced step ${m.lastPacedStepMs.toFixed(2)} ms; time between yields median ${med(waits.slice(8)).toFixed(2)} ms`,
        ]);
        log(rows[rows.length - 1].join(' | '));
        const gaps = st.slice(1).map((s, i) => ({ i: i + 9, us: s.beginUs - st[i].endUs })).sort((a, b) => b.us - a.us);
        const slowWaits = waits.map((ms, i) => ({ i, ms })).sort((a, b) => b.ms - a.ms);
        log(`  idle gaps (step: us): ${gaps.slice(0, 8).map((g) => `${g.i}: ${g.us.toFixed(0)}`).join(', ')}; total idle ${gaps.reduce((a, g) => a + g.us, 0).toFixed(0)} us over ${st.length} steps`);
        log(`  slowest yields (token: ms): ${slowWaits.slice(0, 8).map((w) => `${w.i}: ${w.ms.toFixed(2)}`).join(', ')}`);
        log(`  GC during the loop: ${gcs.length} (${gcs.map((g) => `kind ${g.kind} ${g.ms.toFixed(1)} ms`).join(', ')})`);
      }
    }
    if (args.has('kernel-split') && c === contexts[0]) {
      // GPU time of steps holding only one kind of kernel (inside the generation loop): each kind's cost in place,
      // to set against the floor of its bytes and dispatches (bench/floor.ts).
      const kinds: [string, (p: { name: string }, wg: number) => boolean][] = [
        ['qkv GEMV', (p, wg) => p.name === 'gemv_bf16' && wg === Math.ceil(((cfg.numAttentionHeads + 2 * cfg.numKeyValueHeads) * cfg.headDim) / 8) + (m.routerFolded ? cfg.numExperts : 0)],
        ['out GEMV', (p, wg) => p.name === 'gemv_bf16' && wg === outGemvWgs(m, cfg)],
        ['router GEMV', (p, wg) => p.name === 'gemv_bf16' && (wg === cfg.numExperts || wg === Math.ceil(cfg.numExperts / 8))],
        ['MoE mlp1', (p) => p.name === 'moe_mlp1'],
        ['MoE mlp2', (p) => p.name === 'moe_mlp2'],
        ['attention', (p) => p.name.startsWith('attention')],
        ['unembedding', (p, wg) => p.name === 'gemv_bf16' && wg > 20000],
        ['rope_kv', (p) => p.name === 'rope_kv'],
        ['embed, sample', (p) => !p.name.startsWith('gemv') && !p.name.startsWith('moe') && !p.name.startsWith('attention') && p.name !== 'rope_kv'],
      ];
      const parts: string[] = [];
      for (const [k, f] of kinds) parts.push(`${k} ${(await stepGpuUs(ctx, m, seq, f)).toFixed(0)} us`);
      rows.push([`${name} decode @ctx ${c}, GPU time of steps holding one kind of kernel`, `all ${(await stepGpuUs(ctx, m, seq, null)).toFixed(0)} us`, parts.join('; ')]);
      log(rows[rows.length - 1].join(' | '));
    }
    if (args.has('drop') && c === contexts[0]) {
      // In-place cost of a kind of kernel, dependencies included: the step with and without its dispatches (the
      // results are then wrong; only the time counts). Kinds as in --kernel-split, by program name or 'router'.
      const isRouter = (p: { name: string }, wg: number) => p.name === 'gemv_bf16' && (wg === cfg.numExperts || wg === Math.ceil(cfg.numExperts / 8));
      const all = await stepGpuUs(ctx, m, seq, null);
      const parts: string[] = [];
      for (const k of args.get('drop')!.split(',')) {
        const drop = (p: { name: string }, wg: number) => (k === 'router' ? isRouter(p, wg) : p.name === k);
        parts.push(`without ${k} ${(await stepGpuUs(ctx, m, seq, (p, wg) => !drop(p, wg))).toFixed(0)} us`);
      }
      rows.push([`${name} decode @ctx ${c}, steps without a kind of kernel`, `all ${all.toFixed(0)} us`, parts.join('; ')]);
      log(rows[rows.length - 1].join(' | '));
    }
    if (args.has('prefetch-ab')) {
      // Attention with every K/V load issued before the first barrier (default) against loads after the softmax.
      for (const pf of [true, false, true]) {
        m.attnPrefetch = pf;
        const all = await stepGpuUs(ctx, m, seq, null);
        const att = await stepGpuUs(ctx, m, seq, (p) => p.name.startsWith('attention'));
        rows.push([`${name} decode @ctx ${c}, narrow attention ${pf ? 'with' : 'without'} K/V prefetch`, `step ${all.toFixed(0)} us`, `attention alone ${att.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
    }
    if (args.has('spread-ab') && c === contexts[0]) {
      // The sampler's vocabulary passes spread over workgroups (GptOssGpu.spreadSampling), greedy and T 1, A/B.
      for (const on of [false, true, false, true]) {
        m.spreadSampling = on;
        const parts: string[] = [];
        for (const [label, sp] of [['greedy', { temperature: 0 }], ['T 1', { temperature: 1, seed: 3 }]] as const) {
          const len = seq.tokens.length;
          for await (const id of m.generate(seq, 1, 4, sp)) void id;
          seq.truncate(len);
          ctx.enableProfiling(40, 'step');
          for await (const id of m.generate(seq, 1, 24, sp)) void id;
          const per = (await ctx.readTimes()).slice(4).map((t) => t.us).sort((a, b) => a - b);
          ctx.profiler = null;
          seq.truncate(len);
          parts.push(`${label} step ${per[per.length >> 1].toFixed(0)} us`);
        }
        rows.push([`${name} decode @ctx ${c}, sampler passes ${on ? 'spread over workgroups' : 'in one workgroup'}`, parts.join('; '), '']);
        log(rows[rows.length - 1].join(' | '));
      }
      m.spreadSampling = true;
    }
    if (args.has('narrow-ab') && c === contexts[0]) {
      // Query heads per workgroup of the narrow decode attention (short range), A/B in one process.
      for (const h of args.get('narrow-ab')!.split(',').map(Number)) {
        m.setNarrowAttentionHeads(h);
        const all = await stepGpuUs(ctx, m, seq, null);
        const att = await stepGpuUs(ctx, m, seq, (p) => p.name.startsWith('attention'));
        const without = await stepGpuUs(ctx, m, seq, (p) => !p.name.startsWith('attention'));
        rows.push([`${name} decode @ctx ${c}, narrow attention ${h} heads per workgroup`, `step ${all.toFixed(0)} us`, `attention alone ${att.toFixed(0)} us; step without attention ${without.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.setNarrowAttentionHeads(null);
    }
    if (args.has('attn-ab')) {
      // Decode attention's keys per workgroup, A/B in one process at every context (default restored after).
      for (const ch of args.get('attn-ab')!.split(',').map(Number)) {
        m.setDecodeChunk(ch);
        const all = await stepGpuUs(ctx, m, seq, null);
        const att = await stepGpuUs(ctx, m, seq, (p) => p.name.startsWith('attention'));
        rows.push([`${name} decode @ctx ${c}, attention ${ch} keys per workgroup`, `step ${all.toFixed(0)} us`, `attention alone ${att.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.setDecodeChunk(null);
    }
    if (args.has('gemv-diag') && c === contexts[0]) {
      // What each part of the layer GEMVs costs: the step and the qkv / out GEMVs alone with x loads, weight widening
      // and products, or both left out (GemvBf16Options.diag; results wrong, times right).
      const isQkv = (p: { name: string }, wg: number) => p.name === 'gemv_bf16' && wg === Math.ceil(((cfg.numAttentionHeads + 2 * cfg.numKeyValueHeads) * cfg.headDim) / 8);
      const isOut = (p: { name: string }, wg: number) => p.name === 'gemv_bf16' && wg === outGemvWgs(m, cfg);
      for (const d of args.get('gemv-diag')!.split(',')) {
        // 'noride': the out GEMV does not read the router's weights and gain ahead (GptOssGpu.rideRouter).
        m.rideRouter = d !== 'noride';
        m.gemvDiag = d === 'none' || d === 'noride' ? undefined : (d as 'constX' | 'xorW' | 'both');
        const all = await stepGpuUs(ctx, m, seq, null);
        const q = await stepGpuUs(ctx, m, seq, isQkv);
        const o = await stepGpuUs(ctx, m, seq, isOut);
        const dr = await stepGpuUs(ctx, m, seq, (p, wg) => !(p.name === 'gemv_bf16' && (wg === cfg.numExperts || wg === Math.ceil(cfg.numExperts / 8))));
        rows.push([`${name} decode @ctx ${c}, layer GEMVs ${d}`, `step ${all.toFixed(0)} us`, `qkv alone ${q.toFixed(0)} us, out alone ${o.toFixed(0)} us; step without the router ${dr.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.gemvDiag = undefined;
      m.rideRouter = true;
    }
    if (args.has('fold-ab') && c === contexts[0]) {
      // The router folded into the QKV / out GEMVs and mlp1 (default) against its own GEMV, GPU time in place.
      for (const on of args.get('fold-ab')!.split(',').map((v) => v === '1')) {
        m.setRouterFold(on);
        const all = await stepGpuUs(ctx, m, seq, null);
        const mlp1 = await stepGpuUs(ctx, m, seq, (p) => p.name === 'moe_mlp1');
        const outG = await stepGpuUs(ctx, m, seq, (p, wg) => p.name === 'gemv_bf16' && wg === outGemvWgs(m, cfg));
        for await (const id of m.generate(seq, 1, 3, { temperature: 0 })) void id;
        const dv = await secondsPerToken(m, seq);
        rows.push([`${name} decode @ctx ${c}, router ${on ? 'folded' : 'GEMV'}`, `step ${all.toFixed(0)} us; ${(1 / dv).toFixed(1)} tok/s`, `mlp1 alone ${mlp1.toFixed(0)} us, out GEMV alone ${outG.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.setRouterFold(foldAtLoad);
    }
    if (args.has('router-ab') && c === contexts[0]) {
      // Router GEMV: a workgroup per row (default) against 8 rows per workgroup, GPU time in place.
      for (const narrow of [true, false, true]) {
        m.narrowRouter = narrow;
        const all = await stepGpuUs(ctx, m, seq, null);
        const router = await stepGpuUs(ctx, m, seq, (p, wg) => p.name === 'gemv_bf16' && (wg === cfg.numExperts || wg === Math.ceil(cfg.numExperts / 8)));
        rows.push([`${name} decode @ctx ${c}, router GEMV ${narrow ? '1 row' : '8 rows'} per workgroup`, `step ${all.toFixed(0)} us`, `router alone ${router.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
    }
    if (args.has('moe-ab') && c === contexts[0]) {
      // MoE shapes (mlp1 row pairs / mlp2 rows per 32-invocation group), GPU time in place as above.
      for (const v of args.get('moe-ab')!.split(',')) {
        // "4/4": mlp1 row pairs / mlp2 rows per group; suffix f: f32 activations instead of f16 pairs, w: mlp1's f16
        // pairs meet in workgroup memory (not within a subgroup), r / s: routing by rank counting in workgroup memory /
        // by subgroup rounds (default: rank up to 32 experts).
        // ":raw", ":c1" / ":c2" / ":c4", ":hs", ":xor" (joined by +; mlp2's after a |, else mlp1's): f16 decode
        // variants (MoeDecodeVariant; ":c1" alone is the decode before session 12).
        const mm = /^(\d+)\/(\d+)([fwrs]*)(?::([a-z0-9+|]+))?$/.exec(v);
        if (!mm) throw new Error(`--moe-ab: expected e.g. 4/4, 4/4f or 4/4:raw+c2|raw, got ${v}`);
        const [pp, rr] = [Number(mm[1]), Number(mm[2])];
        const dec = (t: string) => {
          const dv = t.split('+');
          return { raw: dv.includes('raw'), xor: dv.includes('xor'), halfSum: dv.includes('hs'), chain: (dv.includes('c4') ? 4 : dv.includes('c2') ? 2 : 1) as 1 | 2 | 4 };
        };
        const [dt1, dt2] = (mm[4] ?? '').split('|');
        m.setMoeVariant({
          ...(dt1 ? { decode: dec(dt1) } : {}),
          ...(dt2 ? { decode2: dec(dt2) } : {}),
          pairsPerGroup: pp,
          rowsPerGroup: rr,
          ...(mm[3].includes('f') ? { halfActivations: false } : {}),
          ...(mm[3].includes('w') ? { pairWrite: 'workgroup' as const } : {}),
          ...(mm[3].includes('r') ? { rankRouting: true } : mm[3].includes('s') ? { rankRouting: false } : {}),
        });
        const all = await stepGpuUs(ctx, m, seq, null);
        const moe1 = await stepGpuUs(ctx, m, seq, (p) => p.name === 'moe_mlp1');
        const moe2 = await stepGpuUs(ctx, m, seq, (p) => p.name === 'moe_mlp2');
        rows.push([`${name} decode @ctx ${c}, MoE ${pp} pairs / ${rr} rows per group${mm[3].includes('f') ? ', f32 activations' : ''}${mm[3].includes('w') ? ', pairs via workgroup memory' : ''}${mm[3].includes('r') ? ', rank routing' : ''}${mm[3].includes('s') ? ', subgroup routing' : ''}${mm[4] ? `, decode ${mm[4]}` : ''}`, `step ${all.toFixed(0)} us`, `mlp1 alone ${moe1.toFixed(0)} us, mlp2 alone ${moe2.toFixed(0)} us`]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.setMoeVariant({});
    }
    if (c === contexts[0] && args.get('variants') !== '0') {
      // Same step with the other MoE kernel variants (default restored after).
      const vs: [string, MoeProgramOptions][] = [
        ['loop-form MoE (previous)', { legacy: true }],
        ['MoE rows 2/4', { pairsPerGroup: 2, rowsPerGroup: 4 }],
        ['MoE rows 3/6', { pairsPerGroup: 3, rowsPerGroup: 6 }],
        ['MoE default again', {}],
      ];
      for (const [vn, vo] of vs) try {
        m.setMoeVariant(vo);
        for await (const id of m.generate(seq, 1, 3, { temperature: 0 })) void id;
        const dv = await secondsPerToken(m, seq);
        rows.push([`${name} decode @ctx ${c} with ${vn}`, `${(1 / dv).toFixed(1)} tok/s (${(dv * 1000).toFixed(2)} ms)`, '']);
        log(rows[rows.length - 1].join(' | '));
      } catch (e) {
        rows.push([`${name} decode with ${vn}`, 'ERROR', String(e).slice(0, 300)]);
      }
      m.setMoeVariant({});
    }
    log(rows[rows.length - 1].join(' | '));
    if (args.has('decode-diag')) await decodeDiag(ctx, m, seq, `${name} @ctx ${c}`);
    if (args.get('profile') !== '0') {
      try {
        ctx.enableProfiling();
        await m.decodeSample([{ sequence: seq, token: 1 }], { temperature: 0 });
        const prof = await ctx.readProfile();
        ctx.profiler = null;
        const parts = [...prof.kernels.entries()]
          .sort((a, b) => b[1].us - a[1].us)
          .map(([k, v]) => `${k} ${v.us.toFixed(0)}us/${v.count}`);
        rows.push([`${name} GPU time per kernel @ctx ${c} (one pass per dispatch)`, `${prof.totalUs.toFixed(0)} us total`, parts.join(', ')]);
        log(rows[rows.length - 1].join(' | '));
      } catch (e) {
        ctx.profiler = null;
        rows.push(['profile', 'ERROR', String(e).slice(0, 200)]);
      }
    }
    seq.dispose();
  }
  if (onlyDecode) {
    m.dispose();
    return;
  }
  // batched decode: 4 sequences at ctx 128
  {
    // 128 positions plus the steps (short runs load the model with a small maxContext).
    const seqs = Array.from({ length: 4 }, () => m.createSequence(Math.min(1024, m.maxContext)));
    for (const s of seqs) for (let i = 0; i < 127; i++) s.tokens.push(0);
    await m.decode(seqs.map((s) => ({ sequence: s, token: 1 })));
    const t = performance.now();
    const n = Math.max(8, steps / 4);
    for (let i = 0; i < n; i++) await m.decodeSample(seqs.map((s) => ({ sequence: s, token: 1 })), { temperature: 0 });
    const dt = (performance.now() - t) / 1000 / n;
    rows.push([`${name} batched decode x4 @ctx 128`, `${(4 / dt).toFixed(1)} tok/s total`, `${(dt * 1000).toFixed(2)} ms/step`]);
    for (const s of seqs) s.dispose();
  }
  if (prefillTokens > 0) {
    const seq = m.createSequence();
    const toks = Array.from({ length: prefillTokens }, (_, i) => (i * 7919) % cfg.vocabSize);
    await m.prefill(seq, toks.slice(0, 128), { logits: 'none' });
    seq.truncate(0);
    const t = performance.now();
    await m.prefill(seq, toks, { logits: 'last' });
    const dt = (performance.now() - t) / 1000;
    rows.push([`${name} prefill ${prefillTokens} tokens${m.usesSubgroupMatrix ? ' (subgroup matrices)' : ''}`, `${(prefillTokens / dt).toFixed(0)} tok/s`, `${(dt * 1000).toFixed(0)} ms; ${m.lastDispatches} dispatches`]);
    log(rows[rows.length - 1].join(' | '));
    if (args.has('smat-tiles')) {
      // GPU time per kernel of one prefill chunk for each dense/MoE subgroup-matrix tile size (e.g. 64/32,64/128),
      // A/B in one process; the default restored after.
      const tiles0 = m.smatTiles;
      for (const t of [...args.get('smat-tiles')!.split(','), `${tiles0.dense}/${tiles0.moe}`]) {
        const tm = /^(\d+)\/(\d+)$/.exec(t);
        if (!tm) throw new Error(`--smat-tiles: expected dense/moe tokens per tile, e.g. 64/128, got ${t}`);
        m.setSubgroupMatrixTiles(Number(tm[1]), Number(tm[2]));
        const { prof, parts } = await profileChunk(ctx, m, seq, toks);
        rows.push([`${name} prefill GPU time of one ${m.prefillChunk}-token chunk, subgroup-matrix tiles ${t}`, `${prof.totalUs.toFixed(0)} us`, parts.slice(0, 4).join(', ')]);
        log(rows[rows.length - 1].join(' | '));
      }
    }
    if (args.has('prefill-profile')) {
      for (const sm of [false, true]) {
        m.setSubgroupMatrix(sm);
        if (sm && !m.usesSubgroupMatrix) continue;
        const { prof, parts } = await profileChunk(ctx, m, seq, toks);
        rows.push([`${name} prefill GPU time per kernel, one ${m.prefillChunk}-token chunk at position 256${sm ? ', subgroup matrices' : ', f32 tiles'} (one pass per dispatch)`, `${prof.totalUs.toFixed(0)} us total`, parts.join(', ')]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.setSubgroupMatrix(true);
    }
    if (args.get('prefill-variants') !== '0') {
      const defaultMoeMin = Math.ceil((16 * cfg.numExperts) / cfg.expertsPerToken);
      // The same prefill with the opt-in grouped-by-expert MoE kernels.
      // A/B/A in one process: per-token MoE (the previous default), the grouped kernels (register form, tiled), again.
      // --prefill-ab gemm: only the dense projections, A/B/A/B with the default MoE (8-token GEMVs vs tiled GEMM).
      const gemmAb = args.get('prefill-ab') === 'gemm';
      const smatAb = args.get('prefill-ab') === 'smat';
      const tiles0: [number, number] = [m.smatTiles.dense, m.smatTiles.moe];
      const cases: (readonly [string, number, boolean, number, boolean?, [number, number]?])[] = smatAb
        ? [
            ['f32 tiled GEMMs (before)', defaultMoeMin, true, 16, false],
            [`subgroup-matrix GEMMs, tiles ${tiles0.join('/')} (default)`, defaultMoeMin, true, 16, true, tiles0],
            ['subgroup-matrix GEMMs, tiles 32/32', defaultMoeMin, true, 16, true, [32, 32]],
            ['subgroup-matrix GEMMs, tiles 64/32', defaultMoeMin, true, 16, true, [64, 32]],
            ['subgroup-matrix GEMMs, tiles 64/64', defaultMoeMin, true, 16, true, [64, 64]],
            ['f32 tiled GEMMs (again)', defaultMoeMin, true, 16, false],
            [`subgroup-matrix GEMMs, tiles ${tiles0.join('/')} (again)`, defaultMoeMin, true, 16, true, tiles0],
          ]
        : gemmAb
        ? [
            ['8-token GEMVs (before)', defaultMoeMin, true, Infinity],
            ['tiled bf16 GEMM from 16 tokens', defaultMoeMin, true, 16],
            ['8-token GEMVs (again)', defaultMoeMin, true, Infinity],
            ['tiled bf16 GEMM (again)', defaultMoeMin, true, 16],
          ]
        : [
            ['per-token MoE', Infinity, false, Infinity],
            ['grouped-by-expert MoE, register form', 8, false, Infinity],
            ['grouped-by-expert MoE, tiled', 8, true, Infinity],
            ['per-token MoE (again)', Infinity, false, Infinity],
          ];
      for (const [label, moeMin, tiled, gemmMin, sm, tiles] of cases) {
        m.setGroupedMoe(moeMin, tiled);
        m.setPrefillGemm(gemmMin);
        if (sm !== undefined) m.setSubgroupMatrix(sm);
        if (tiles) m.setSubgroupMatrixTiles(tiles[0], tiles[1]);
        if (sm && !m.usesSubgroupMatrix) {
          rows.push([`${name} prefill, ${label}`, 'SKIPPED', 'no subgroup matrices on this context']);
          continue;
        }
        log(`${name} prefill variant: ${label}`);
        seq.truncate(0);
        await m.prefill(seq, toks.slice(0, 128), { logits: 'none' }); // pipelines compiled outside the timing
        seq.truncate(0);
        const tp = performance.now();
        await m.prefill(seq, toks, { logits: 'last' });
        const dp = (performance.now() - tp) / 1000;
        rows.push([`${name} prefill ${prefillTokens} tokens, ${label}`, `${(prefillTokens / dp).toFixed(0)} tok/s`, `${(dp * 1000).toFixed(0)} ms; ${m.lastDispatches} dispatches`]);
        log(rows[rows.length - 1].join(' | '));
      }
      m.setGroupedMoe(defaultMoeMin, true);
      m.setPrefillGemm(16); // the default (PREFILL_GEMM_MIN_TOKENS)
      m.setSubgroupMatrix(true);
      m.setSubgroupMatrixTiles(tiles0[0], tiles0[1]);
    }
    seq.dispose();
  }
  m.dispose();
}

let smatOk = true;
async function main(): Promise<void> {
  let f16ok = args.get('f16') !== '0';
  {
    const { create } = (await import('webgpu')) as unknown as { create: (f: string[]) => GPU };
    const a = await create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']).requestAdapter();
    const info = a?.info as (GPUAdapterInfo & { subgroupMatrixConfigs?: unknown }) | undefined;
    log(`subgroup matrix configs: ${JSON.stringify(info?.subgroupMatrixConfigs ?? null)}; wg storage ${a?.limits.maxComputeWorkgroupStorageSize}`);
  }
  const only = args.get('checks');
  if (!args.has('skip-check') && only !== 'smat') {
    f16ok = (await tinyCheck(true, true)) && f16ok;
    await tinyCheck(true, true, undefined, { lut: true });
    // The f16 decode before session 12 (pairs rescaled one at a time), and raw pairs with f16 sums over whole blocks.
    await tinyCheck(true, true, undefined, { decode: { chain: 1 } });
    await tinyCheck(true, true, undefined, { decode: { raw: true, chain: 2, halfSum: true } });
    await tinyCheck(true, true, undefined, undefined, { minTokens: 8, tiled: true });
    await tinyCheck(true, false, undefined, undefined, { minTokens: 8, tiled: true });
    await tinyCheck(true, true, undefined, undefined, undefined, 8);
    await tinyCheck(true, false, undefined, undefined, undefined, 8);
    await tinyCheck(true, false);
    await tinyCheck(false);
  }
  if (!args.has('skip-check')) {
    // Subgroup-matrix prefill GEMMs (on by default where the adapter has them), forced from 8 tokens, two shapes.
    const ODD = { ...TINY, hiddenSize: 96, intermediateSize: 160, vocabSize: 777 };
    await tinyCheck(true, true, undefined, undefined, { minTokens: 8, tiled: true }, 8, false, ODD);
    smatOk = await tinyCheck(true, true, undefined, undefined, { minTokens: 8, tiled: true }, 8, true, ODD);
    smatOk = (await tinyCheck(true, true, undefined, undefined, { minTokens: 8, tiled: true }, 8, true)) && smatOk;
    smatOk = (await tinyCheck(true, true, undefined, undefined, { minTokens: 8, tiled: true }, 8, true, ODD, 256)) && smatOk;
    // 300 tokens in 256-token passes: ~150 per expert, so the 128-token MoE tiles loop over several token tiles.
    smatOk = (await tinyCheck(true, true, undefined, undefined, { minTokens: 8, tiled: true }, 8, true, ODD, 256, 300)) && smatOk;
  }
  if (!args.has('skip-check') && only !== 'smat') {
    // More than 32 experts: the MoE kernels route on subgroups (three logits per lane, the last partial), and the
    // same model with rank counting.
    const WIDE_E = { ...TINY, numExperts: 72 };
    await tinyCheck(true, true, undefined, undefined, undefined, undefined, false, WIDE_E);
    await tinyCheck(true, true, undefined, { rankRouting: true }, undefined, undefined, false, WIDE_E);
  }
  const ctx = await createNodeGpuContext({
    fast: args.get('portable') !== '1',
    profile: true,
    f16: f16ok,
    subgroupMatrix: smatOk && args.get('smat') !== '0',
    // As the runtime's webgpu backend ships it: Dawn's per-command validation off (--validation 1 keeps it).
    validation: args.get('validation') === '1',
  });
  ctx.profiler = null;
  log(`device: ${ctx.caps.description}; f16 ${ctx.caps.f16}, subgroup matrix ${ctx.caps.subgroupMatrix}; validation ${args.get('validation') === '1'}`);
  if (!args.has('skip-micro')) await microbench(ctx);
  if (args.has('occupancy')) await occupancyProbe(ctx);
  if (args.has('sample-bench')) await sampleBench(ctx);
  for (const name of models) {
    const cfg = name === '120b' ? { ...FULL, numHiddenLayers: 36, numExperts: 128 } : FULL;
    try {
      await modelBench(ctx, `gpt-oss-${name}`, cfg);
    } catch (e) {
      rows.push([`gpt-oss-${name}`, 'ERROR', String((e as Error).message).slice(0, 200)]);
    }
  }
  ctx.destroy();
  if (args.has('robustness-ab')) {
    // Same kernels with Dawn's robust buffer access off (index clamping removed from every load).
    const ok = await tinyCheck(true, true, NO_ROBUSTNESS);
    const c2 = await createNodeGpuContext({ profile: true, f16: f16ok, dawnFlags: NO_ROBUSTNESS });
    c2.profiler = null;
    await microbench(c2, 'robustness off: ');
    if (ok && args.has('robustness-decode')) {
      try {
        await modelBench(c2, 'gpt-oss-20b (robustness off)', FULL, true);
      } catch (e) {
        rows.push(['robustness off decode', 'ERROR', String((e as Error).message).slice(0, 200)]);
      }
    }
    c2.destroy();
  }
  console.log('\n| what | figure | detail |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

await main();
