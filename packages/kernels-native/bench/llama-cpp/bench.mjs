#!/usr/bin/env node
// llama.cpp side of the CPU comparison: loads a GGUF (see to-gguf.mjs) through node-llama-cpp, CPU only, mmap,
// N threads, and measures what llama-bench calls pp512 and tg128, plus the decode our bench/run.mjs measures
// (128 greedy tokens right after the 512-token prompt):
//   node bench/llama-cpp/bench.mjs --llama /tmp/llamacpp [--model FILE.gguf] [--threads 2] [--prompt 512] [--gen 128]
//        [--repeat 2] [--fa auto|on|off] [--batch 512]
// --llama is a directory where `npm i node-llama-cpp@3.22.1` was run; nothing is added to this repository's
// dependencies. Prompts are random token ids (same generator as run.mjs). Every timed llama_decode asks for the logits
// of its last token (as llama-bench does), so the unembedding is part of every decode step; greedy sampling of the
// next token adds an argmax over the vocabulary, as in run.mjs.
//   pp: clear the KV cache, decode the whole prompt (batch = ubatch = --batch), logits of the last token.
//   tg (llama-bench style): clear the KV cache, decode --gen tokens one at a time from position 0.
//   tg after pp (run.mjs style): decode --gen tokens one at a time at positions prompt..prompt+gen-1.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    llama: { type: 'string', default: '/tmp/llamacpp' },
    model: { type: 'string', default: '/work/bigmodels/gpt-oss-20b.gguf' },
    threads: { type: 'string', default: '2' },
    prompt: { type: 'string', default: '512' },
    gen: { type: 'string', default: '128' },
    repeat: { type: 'string', default: '2' },
    fa: { type: 'string', default: 'auto' },
    batch: { type: 'string', default: '512' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const threads = Number(o.threads), P = Number(o.prompt), G = Number(o.gen), B = Number(o.batch);
const fa = o.fa === 'auto' ? 'auto' : o.fa === 'on';
const now = () => performance.now();
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const pkgDir = join(o.llama, 'node_modules', 'node-llama-cpp');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const info = JSON.parse(readFileSync(join(pkgDir, 'llama', 'binariesGithubRelease.json'), 'utf8'));
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(join(pkgDir, 'dist', 'index.js')).href);

// Keep the llama.cpp lines that tell what was loaded (backend, tensor types, shapes, hparams, buffers).
const keep = /load_backend|CPU_REPACK|system_info|print_info|llama_model_loader: - type|file type|file size|n_tensors|loaded meta|model size|load_tensors|llama_context|n_ctx|flash_attn|kv_self|llama_kv_cache|graph|error|failed|warn/i;
const logLines = [];
const llama = await getLlama({
  gpu: false,
  build: 'never',
  maxThreads: threads,
  logLevel: LlamaLogLevel[o['log-level']] ?? LlamaLogLevel.info,
  logger: (level, message) => {
    for (const line of String(message).split('\n')) if (line.trim() && keep.test(line)) logLines.push(`[${level}] ${line.trimEnd()}`);
  },
});
console.log(`node-llama-cpp ${pkg.version}, llama.cpp release ${info.release} (${llama.buildType}); gpu ${llama.gpu}; ${o.model}; threads ${threads}; load avg ${load()}`);
console.log(`system info: ${llama.systemInfo}`);
let t0 = now();
const model = await llama.loadModel({ modelPath: o.model, gpuLayers: 0, useMmap: true, useMlock: false });
const loadMs = now() - t0;
const context = await model.createContext({ contextSize: P + G + 64, batchSize: B, threads, flashAttention: fa, sequences: 1 });
const seq = context.getSequence();
console.log(`load ${(loadMs / 1000).toFixed(2)} s; context ${context.contextSize}, batch ${context.batchSize}, flash attention ${context.flashAttention}`);
for (const l of logLines) console.log(l);
logLines.length = 0;

// Tokenizer sanity check (o200k: "hello world" -> [24912, 2375]).
const hw = [...model.tokenize('hello world')];
console.log(`tokenize("hello world") = [${hw.join(', ')}] ${hw.join() === '24912,2375' ? '(matches o200k)' : '(MISMATCH, expected 24912, 2375)'}`);

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 200000);

// Greedy generation: the first value comes after decoding `tokens` (one llama_decode of up to `batch` tokens), each
// further value after a one-token decode. Returns [ms to first token, ms per later step list, tokens].
async function run(tokens, steps) {
  const out = [];
  const it = seq.evaluate(tokens, { temperature: 0 });
  let t = now();
  const start = t;
  let first = 0;
  const times = [];
  for await (const tok of it) {
    const n = now();
    if (out.length === 0) first = n - start;
    else times.push(n - t);
    t = n;
    out.push(tok);
    if (out.length > steps) break;
  }
  return { first, times, out };
}

// Warm-up: every page of the model is touched once (prefill of a full prompt routes to every expert).
t0 = now();
await seq.clearHistory();
await run(Array.from({ length: P }, rand), 2);
console.log(`warm-up ${P}-token prefill + 2 steps: ${((now() - t0) / 1000).toFixed(1)} s; load avg ${load()}`);

const results = [];
for (let rep = 0; rep < Number(o.repeat); rep++) {
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  // pp + tg after pp (run.mjs style)
  await seq.clearHistory();
  const prompt = Array.from({ length: P }, rand);
  const c0 = cpu();
  const a = await run(prompt, G);
  const c1 = cpu();
  const loadPrefill = load();
  const sum = (xs) => xs.reduce((s, x) => s + x, 0);
  const decodeAfterMs = sum(a.times.slice(0, G));
  // tg from an empty cache (llama-bench style): one decode of one token, then G-1 more.
  await seq.clearHistory();
  const c2 = cpu();
  const b = await run([rand()], G - 1);
  const c3 = cpu();
  const tgMs = b.first + sum(b.times.slice(0, G - 1));
  const r = {
    pp: P / (a.first / 1000),
    tgAfterPp: G / (decodeAfterMs / 1000),
    tg: G / (tgMs / 1000),
    cpuPerToken: { ppPlusTg: (c1 - c0), tg: (c3 - c2) },
    loadDuringPrefill: loadPrefill,
    loadAfter: load(),
  };
  results.push(r);
  const text = model.detokenize(a.out.slice(0, 24)).replace(/\s+/g, ' ').slice(0, 80);
  console.log(
    `run ${rep + 1}: pp${P} ${r.pp.toFixed(1)} tok/s | tg${G} (after pp${P}) ${r.tgAfterPp.toFixed(2)} tok/s | ` +
      `tg${G} (empty cache) ${r.tg.toFixed(2)} tok/s | process CPU s: pp+tg ${r.cpuPerToken.ppPlusTg.toFixed(1)}, tg ${r.cpuPerToken.tg.toFixed(1)} | ` +
      `load avg ${r.loadDuringPrefill} -> ${r.loadAfter}`,
  );
  console.log(`  greedy text (random weights): ${JSON.stringify(text)}`);
}
for (const l of logLines) console.log(l);
const best = (k) => Math.max(...results.map((r) => r[k]));
console.log(JSON.stringify({ engine: `llama.cpp ${info.release} via node-llama-cpp ${pkg.version}`, threads, best: { pp: best('pp'), tgAfterPp: best('tgAfterPp'), tg: best('tg') }, loadMs }));
await context.dispose();
await model.dispose();
await llama.dispose();
