// Encode throughput: @gptoss/harmony vs tiktoken (WASM) vs js-tiktoken, in one process, on the same texts.
// Run with `pnpm bench` (bench/encode.mjs bundles this file with esbuild, then runs it with node).
import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import { Tokenizer, getTokenizer } from '../src/tokenizer/index.js';
import { asciiText, mixedText, scriptText } from '../test/fixtures/tokenizer/mixed-text.js';

const MB = 1_000_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Distinct texts per round, so a piece cache only gains from the repetition real text has, not from seeing the
// same megabyte again.
function corpus(make: (bytes: number, seed: number) => string): { texts: string[]; bytes: number[] } {
  const texts = Array.from({ length: ROUNDS + 1 }, (_, i) => make(MB, 1000 + i));
  return { texts, bytes: texts.map((t) => new TextEncoder().encode(t).length) };
}

interface Rates {
  wall: number[];
  cpu: number[];
  tokens: number;
}

// Each round encodes one text with every encoder, rotating the order, so load from other processes on a shared
// machine hits all encoders alike. Both wall-clock and process CPU time (user + system, all threads: includes our
// GC helper threads) are recorded; on a busy machine CPU time is the steadier figure.
function runCorpus(c: { texts: string[]; bytes: number[] }, encoders: ((s: string) => ArrayLike<number>)[]): Rates[] {
  const rates: Rates[] = encoders.map(() => ({ wall: [], cpu: [], tokens: 0 }));
  for (const encode of encoders) encode(c.texts[0]); // warm-up: JIT, lazy init
  for (let i = 1; i <= ROUNDS; i++) {
    for (let k = 0; k < encoders.length; k++) {
      const e = (k + i) % encoders.length;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      rates[e].tokens = encoders[e](c.texts[i]).length;
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      rates[e].wall.push(c.bytes[i] / MB / wall);
      rates[e].cpu.push(c.bytes[i] / MB / ((cpu.user + cpu.system) / 1e6));
    }
  }
  return rates;
}

const t0 = performance.now();
const ours = getTokenizer();
const initMs = performance.now() - t0;
const tk = get_encoding('o200k_base');
const jt = getEncoding('o200k_base');

const encoders: [string, (s: string) => ArrayLike<number>][] = [
  ['@gptoss/harmony encodeOrdinary', (s) => ours.encodeOrdinary(s)],
  ['@gptoss/harmony encodeOrdinary, new Tokenizer (empty cache) per text', (s) => new Tokenizer().encodeOrdinary(s)],
  ['@gptoss/harmony encode (checks for special-token text)', (s) => ours.encode(s, { allowedSpecial: 'all' })],
  ['tiktoken 1.0.22 (WASM) encode_ordinary', (s) => tk.encode_ordinary(s)],
  ['js-tiktoken 1.0.21 encode', (s) => jt.encode(s, [], [])],
];
const corpora: [string, (bytes: number, seed: number) => string][] = [
  ['mixed (code, prose, CJK, emoji, whitespace, digits, other scripts)', mixedText],
  ['ASCII only (prose, code, numbers)', asciiText],
  ['non-Latin scripts (CJK, Hangul, Arabic, Hebrew, Devanagari, Cyrillic, emoji)', scriptText],
];

const os = await import('node:os');
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`${ROUNDS} rounds of ~1 MB distinct text per corpus; median MB/s (MB = 10^6 UTF-8 bytes) by CPU time / by wall clock`);
console.log(`@gptoss/harmony getTokenizer() first call (decode ranks, build tables): ${initMs.toFixed(1)} ms`);
for (const [cname, make] of corpora) {
  const c = corpus(make);
  console.log(`\n${cname}`);
  const rates = runCorpus(c, encoders.map(([, f]) => f));
  encoders.forEach(([name], k) => {
    const r = rates[k];
    const cpu = median(r.cpu).toFixed(2).padStart(7);
    const wall = median(r.wall).toFixed(2).padStart(7);
    console.log(`  ${name.padEnd(70)} ${cpu} / ${wall} MB/s  (${r.tokens} tokens)`);
  });
}
console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
tk.free();
