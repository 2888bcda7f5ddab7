// Encode throughput on ~1 MB of mixed text: @gptoss/harmony vs tiktoken (WASM) vs js-tiktoken, in one process.
// Run with `pnpm bench` (bench/encode.mjs bundles this file with esbuild, then runs it with node).
import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import { Tokenizer, getTokenizer } from '../src/tokenizer/index.js';
import { mixedText } from '../test/fixtures/tokenizer/mixed-text.js';

const MB = 1_000_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

// Distinct texts per round, so a piece cache only gains from repetition that real text has, not from seeing the
// same megabyte again.
const texts = Array.from({ length: ROUNDS + 1 }, (_, i) => mixedText(MB, 1000 + i));
const bytes = texts.map((t) => new TextEncoder().encode(t).length);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function run(name: string, encode: (s: string) => ArrayLike<number>): { name: string; mbps: number; tokens: number } {
  encode(texts[0]); // warm-up: JIT, lazy init
  const rates: number[] = [];
  let tokens = 0;
  for (let i = 1; i <= ROUNDS; i++) {
    const t0 = performance.now();
    tokens = encode(texts[i]).length;
    const dt = (performance.now() - t0) / 1000;
    rates.push(bytes[i] / MB / dt);
  }
  return { name, mbps: median(rates), tokens };
}

const t0 = performance.now();
const ours = getTokenizer();
const initMs = performance.now() - t0;
const tk = get_encoding('o200k_base');
const jt = getEncoding('o200k_base');

const results = [
  run('@gptoss/harmony encodeOrdinary', (s) => ours.encodeOrdinary(s)),
  run('@gptoss/harmony encodeOrdinary (fresh cache each round)', (s) => new Tokenizer().encodeOrdinary(s)),
  run('tiktoken (WASM) encode_ordinary', (s) => tk.encode_ordinary(s)),
  run('js-tiktoken encode', (s) => jt.encode(s, [], [])),
];
tk.free();

console.log(`node ${process.version}, ${ROUNDS} rounds of ~1 MB distinct mixed text (median MB/s, MB = 10^6 UTF-8 bytes)`);
console.log(`@gptoss/harmony getTokenizer() first call (parse ranks): ${initMs.toFixed(1)} ms`);
for (const r of results) console.log(`${r.name.padEnd(58)} ${r.mbps.toFixed(2).padStart(7)} MB/s  (${r.tokens} tokens)`);
