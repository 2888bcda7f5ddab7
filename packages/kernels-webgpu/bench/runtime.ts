/**
 * The runtime's generation loop on the `webgpu` backend with a full-size random checkpoint written to disk: what a
 * user of `Model.complete` / `gptoss chat` gets, with device sampling (token ids read back, steps in flight) and with
 * host sampling (logits read back every token). Bundled by bench/bundle.mjs for the device machine:
 *   node .device/runtime.mjs [--dir /tmp/gptoss-20b] [--preset gpt-oss-20b] [--prompt 128] [--tokens 256]
 * This file imports the runtime's sources directly: it is a bench entry, not part of the package.
 */
import { existsSync } from 'node:fs';
import { createCheckpoint } from '../../runtime/src/checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../../runtime/src/checkpoint/open-checkpoint.js';
import { webgpuBackend } from '../../runtime/src/backends/webgpu/webgpu-backend.js';
import type { PresetName } from '../../runtime/src/config.js';
import { Model, type GenerateOptions } from '../../runtime/src/model.js';

process.env.GPTOSS_KERNELS_WEBGPU_MODULE ??= new URL('./kernels-webgpu.mjs', import.meta.url).href;
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const preset = arg('preset', 'gpt-oss-20b') as PresetName;
const dir = arg('dir', `/tmp/${preset}`);
const promptLen = Number(arg('prompt', '128'));
const maxTokens = Number(arg('tokens', '256'));
const t0 = performance.now();
const log = (...a: unknown[]) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);

if (!existsSync(`${dir}/config.json`)) {
  await createCheckpoint({ dir, preset, seed: 1 });
  log(`wrote ${preset} to ${dir}`);
}
const checkpoint = await openCheckpoint(dir);
const backend = webgpuBackend();
const tl = performance.now();
const loaded = await backend.load(checkpoint, { maxContext: promptLen + maxTokens + 64 });
log(`loaded in ${((performance.now() - tl) / 1000).toFixed(1)} s: ${JSON.stringify(loaded.describe?.() ?? {})}`);
const model = await Model.create(checkpoint, loaded, { backend, skipped: [] });
const prompt = Array.from({ length: promptLen }, (_, i) => (i * 7919 + 11) % 200000);
const rows: string[] = [];
for (const [label, o] of [
  ['warm-up', { temperature: 0, maxTokens: 32 }],
  ['greedy, device sampling', { temperature: 0 }],
  ['greedy, host sampling (logits read back)', { temperature: 0, deviceSampling: false }],
  ['temperature 1 (the default), device sampling', { temperature: 1, seed: 3 }],
  ['temperature 1, top-p 0.9, device sampling', { temperature: 1, topP: 0.9, seed: 3 }],
  ['temperature 1, top-p 0.9, host sampling', { temperature: 1, topP: 0.9, seed: 3, deviceSampling: false }],
  ['greedy, device sampling (again)', { temperature: 0 }],
] as [string, GenerateOptions][]) {
  let stats;
  let n = 0;
  // A fresh prompt each run (first token changed) so every run prefills the same number of tokens.
  const p = [...prompt];
  p[0] = (rows.length * 13 + 1) % 200000;
  for await (const ev of model.complete(p, { maxTokens, stopTokens: [], ...o })) {
    if (ev.type === 'token') n++;
    if (ev.type === 'done') stats = ev.stats;
  }
  const line = `| ${preset} runtime generation, ${label} | ${stats!.decodeTokensPerSecond.toFixed(1)} tok/s decode | ${n} tokens; prefill ${stats!.prefillTokensPerSecond.toFixed(0)} tok/s of ${promptLen} |`;
  rows.push(line);
  log(line);
}
console.log('\n| what | figure | detail |\n|---|---|---|');
for (const r of rows) console.log(r);
await model.close();
