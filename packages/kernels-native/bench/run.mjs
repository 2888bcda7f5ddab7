#!/usr/bin/env node
// Benchmark of the native forward pass on a full-size checkpoint (original layout):
//   node bench/run.mjs [--model DIR] [--threads N] [--prompt 512] [--gen 128] [--repeat 2] [--isa avx512] [--profile]
// Reports load time, prefill tokens/s (one sequence, --prompt random tokens), decode tokens/s (--gen greedy steps
// with the unembedding fused with argmax, and again with full logits as the runtime asks for; and --gen steps from
// an empty cache with full logits, which is what llama-bench's tg128 measures), achieved GB/s of
// weight traffic per decoded token, and peak RSS. --profile adds the time per op (native op profile) of the timed
// prefill and decode, with the GB/s each weight-reading op achieved in decode. Uses dist/ (run `pnpm build` first; `pnpm bench` does).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  CpuModel,
  getDecodeInt16,
  getDecodePrecision,
  getIsa,
  getPrefillInt16,
  getPrefillPrecision,
  getThreads,
  readOpProfile,
  setIsa,
  setOpProfiling,
  setThreads,
} from '../dist/index.js';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: '/work/bigmodels/gpt-oss-20b' },
    threads: { type: 'string', default: '2' },
    prompt: { type: 'string', default: '512' },
    gen: { type: 'string', default: '128' },
    repeat: { type: 'string', default: '2' },
    isa: { type: 'string' },
    chunk: { type: 'string', default: '512' },
    weights: { type: 'string', default: 'mmap' },
    profile: { type: 'boolean', default: false },
  },
});
setThreads(Number(o.threads));
if (o.isa) setIsa(o.isa);
const P = Number(o.prompt);
const G = Number(o.gen);
const chunk = Number(o.chunk);
const now = () => performance.now();
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

console.log(`model ${o.model} (weights: ${o.weights}); isa ${getIsa()}; prefill experts ${getPrefillPrecision() === 'int8' ? 'int8' : getPrefillInt16() ? 'int16' : 'fp32'}; decode experts ${getDecodePrecision() === 'int8' ? 'int8' : getDecodeInt16() ? 'int16' : 'fp32'}; threads ${getThreads()}; load avg ${load()}`);
let t0 = now();
const model = CpuModel.openOriginalCheckpoint(o.model, { weights: o.weights });
const openMs = now() - t0;
const d = model.dims;

// Bytes a decode step must read: attention + router weights of every layer, 4 experts per layer, the unembedding.
const H = d.hiddenSize, I = d.intermediateSize, D = d.headDim;
const qkvRows = D * (d.numAttentionHeads + 2 * d.numKeyValueHeads);
const attnBytes = (qkvRows * H + H * D * d.numAttentionHeads + d.numExperts * H) * 2 + (qkvRows + H + d.numExperts + 3 * H) * 2;
const expertBytes = 2 * I * H * (17 / 32) + H * I * (17 / 32) + (2 * I + H) * 2;
const tokenBytes = d.numHiddenLayers * (attnBytes + d.expertsPerToken * expertBytes) + d.vocabSize * H * 2 + H * 2;
// Weight bytes per decoded token of each op that reads weights (for the per-op GB/s of --profile).
const L = d.numHiddenLayers, E = d.expertsPerToken;
const opBytes = {
  qkv: L * qkvRows * (H + 1) * 2,
  out: L * H * (D * d.numAttentionHeads + 1) * 2,
  router: L * d.numExperts * (H + 1) * 2,
  mlp1: L * E * 2 * I * (H * (17 / 32) + 2),
  mlp2: L * E * H * (I * (17 / 32) + 2),
  unembed: d.vocabSize * H * 2,
};
// Prints one line per op: ms (per token for decode), share of the step, and GB/s of weights where it reads any.
function printProfile(what, prof, tokens, wallMs, gbs) {
  const ops = Object.entries(prof).filter(([, ms]) => ms > 0);
  const sum = ops.reduce((a, [k, ms]) => a + (k === 'mlp1' || k === 'mlp2' ? 0 : ms), 0);
  console.log(`  ${what}: ${wallMs.toFixed(0)} ms wall, ${sum.toFixed(0)} ms in ops (${tokens} tokens)`);
  for (const [k, ms] of ops) {
    const rate = gbs && opBytes[k] ? `  ${((opBytes[k] * tokens) / (ms / 1000) / 1e9).toFixed(1)} GB/s` : '';
    const part = k === 'mlp1' || k === 'mlp2' ? '  (part of moe)' : '';
    console.log(`    ${k.padEnd(10)} ${(ms / tokens).toFixed(2).padStart(9)} ms/token ${((100 * ms) / wallMs).toFixed(1).padStart(5)} %${rate}${part}`);
  }
}

// Every page is faulted in (from disk or the page cache) before the clock starts: part of the load time.
t0 = now();
await model.populate();
const populateMs = now() - t0;
t0 = now();
const warm = model.createCache(16);
await model.forward({ tokens: [1], positions: [0], seq: [0], caches: [warm], outRows: [0], topK: 1 });
warm.dispose();
const firstStepMs = now() - t0;
console.log(`load: open+mmap ${openMs.toFixed(0)} ms, populate ${(populateMs / 1000).toFixed(2)} s, first step ${(firstStepMs / 1000).toFixed(2)} s`);

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 200000);
const results = [];
for (let rep = 0; rep < Number(o.repeat); rep++) {
  const cache = model.createCache(P + G + 8);
  const prompt = Array.from({ length: P }, rand);
  if (o.profile) {
    setOpProfiling(true);
    readOpProfile({ reset: true });
  }
  let c0 = process.cpuUsage();
  t0 = now();
  let last;
  for (let c = 0; c < P; c += chunk) {
    const n = Math.min(chunk, P - c);
    const r = await model.forward({
      tokens: prompt.slice(c, c + n),
      positions: Array.from({ length: n }, (_, i) => c + i),
      seq: new Int32Array(n),
      caches: [cache],
      outRows: c + n === P ? [n - 1] : [],
      topK: 1,
    });
    if (r.topIds) last = r.topIds[0];
  }
  const prefillS = (now() - t0) / 1000;
  const cpuS = (c) => { const u = process.cpuUsage(c); return (u.user + u.system) / 1e6; };
  const prefillCpuS = cpuS(c0);
  const loadPrefill = load();
  const prefillProfile = o.profile ? readOpProfile({ reset: true }) : null;
  let tok = last;
  c0 = process.cpuUsage();
  t0 = now();
  for (let i = 0; i < G; i++) {
    const r = await model.forward({ tokens: [tok], positions: [P + i], seq: [0], caches: [cache], outRows: [0], topK: 1 });
    tok = r.topIds[0];
  }
  const decodeS = (now() - t0) / 1000;
  const decodeCpuS = cpuS(c0);
  const decodeProfile = o.profile ? readOpProfile({ reset: true }) : null;
  setOpProfiling(false);
  // The runtime's decode contract returns the full logits row; measure that too (a few steps).
  const nLogits = Math.min(32, G);
  const cache2 = model.createCache(P + nLogits + 8);
  await model.forward({ tokens: prompt.slice(0, 8), positions: [0, 1, 2, 3, 4, 5, 6, 7], seq: new Int32Array(8), caches: [cache2], outRows: [] });
  t0 = now();
  for (let i = 0; i < nLogits; i++) {
    await model.forward({ tokens: [tok], positions: [8 + i], seq: [0], caches: [cache2], outRows: [0], logits: true });
  }
  const logitsS = (now() - t0) / 1000;
  // llama-bench's tg128: --gen steps from an empty cache (positions 0 ..), each computing the full logits row.
  const cache3 = model.createCache(G + 8);
  let tok3 = prompt[0];
  t0 = now();
  for (let i = 0; i < G; i++) {
    const r3 = await model.forward({ tokens: [tok3], positions: [i], seq: [0], caches: [cache3], outRows: [0], logits: true, topK: 1 });
    tok3 = r3.topIds[0];
  }
  const emptyS = (now() - t0) / 1000;
  cache.dispose();
  cache2.dispose();
  cache3.dispose();
  const r = {
    prefillTokS: P / prefillS,
    decodeTokS: G / decodeS,
    decodeGBs: (tokenBytes * G) / decodeS / 1e9,
    decodeLogitsTokS: nLogits / logitsS,
    decodeEmptyTokS: G / emptyS,
    // Work per CPU-second: on a machine shared with other jobs, wall time mostly measures the share we got.
    prefillTokPerCpuS: P / prefillCpuS,
    decodeTokPerCpuS: G / decodeCpuS,
    loadDuringPrefill: loadPrefill,
    loadAfterDecode: load(),
  };
  results.push(r);
  console.log(
    `run ${rep + 1}: prefill ${P} tok ${r.prefillTokS.toFixed(1)} tok/s | decode ${G} tok ${r.decodeTokS.toFixed(2)} tok/s ` +
      `(${r.decodeGBs.toFixed(1)} GB/s of weights; ${(tokenBytes / 1e9).toFixed(2)} GB/token) | decode with full logits ` +
      `${r.decodeLogitsTokS.toFixed(2)} tok/s | tg${G} from an empty cache (full logits) ${r.decodeEmptyTokS.toFixed(2)} tok/s | per CPU-second: prefill ${r.prefillTokPerCpuS.toFixed(1)} tok, decode ` +
      `${r.decodeTokPerCpuS.toFixed(2)} tok | load avg ${r.loadDuringPrefill} -> ${r.loadAfterDecode}`,
  );
  if (prefillProfile) printProfile(`prefill ${P}`, prefillProfile, P, prefillS * 1000, false);
  if (decodeProfile) printProfile(`decode ${G}`, decodeProfile, G, decodeS * 1000, true);
}
const rss = process.resourceUsage().maxRSS * 1024;
const status = readFileSync('/proc/self/status', 'utf8');
const hwm = /VmHWM:\s+(\d+)/.exec(status)?.[1];
console.log(`peak RSS ${(rss / 2 ** 30).toFixed(2)} GiB (VmHWM ${hwm ? (Number(hwm) / 2 ** 20).toFixed(2) : '?'} GiB); mapped ${(model.mappedBytes() / 2 ** 30).toFixed(2)} GiB`);
const best = (k) => Math.max(...results.map((r) => r[k]));
console.log(JSON.stringify({ best: { prefill: best('prefillTokS'), decode: best('decodeTokS'), gbs: best('decodeGBs'), decodeLogits: best('decodeLogitsTokS'), decodeEmpty: best('decodeEmptyTokS'), prefillPerCpuS: best('prefillTokPerCpuS'), decodePerCpuS: best('decodeTokPerCpuS') }, openMs, populateMs, firstStepMs, rssGiB: rss / 2 ** 30 }));
model.dispose();
