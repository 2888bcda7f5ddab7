#!/usr/bin/env node
// Kernel micro-benchmarks on in-memory random weights larger than the caches: bf16 GEMV (unembedding-sized),
// MXFP4 GEMV (all experts of one layer), and the prefill GEMMs. Reports wall and CPU time, so a busy machine shows.
//   node bench/kernels.mjs [--threads 2] [--isa avx512]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import {
  getDecodeInt16,
  getIsa,
  getPrefillPrecision,
  matmul,
  matmulSync,
  setDecodeInt16,
  setDecodePrecision,
  setIsa,
  setPrefillPrecision,
  setThreads,
} from '../dist/index.js';

// The int16 prefill switch is not part of the typed API; the raw addon (the same module instance dist/ loads) has it.
const raw = createRequire(import.meta.url)(new URL('../build/Release/gptoss_kernels.node', import.meta.url).pathname);

const { values: o } = parseArgs({ options: { threads: { type: 'string', default: '2' }, isa: { type: 'string' }, only: { type: 'string' } } });
setThreads(Number(o.threads));
if (o.isa) setIsa(o.isa);
console.log(`isa ${getIsa()} threads ${o.threads} load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

function fill(u8) {
  let s = 1;
  const u32 = new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength >> 2);
  for (let i = 0; i < u32.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    u32[i] = (s & 0x3fff3fff) | 0x3c003c00; // bf16-ish values of moderate magnitude
  }
  return u8;
}

async function time(name, bytes, flops, fn, reps = 5) {
  await fn();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  const wall = (performance.now() - t0) / 1000 / reps;
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6 / reps;
  console.log(
    `${name.padEnd(34)} ${(wall * 1000).toFixed(1).padStart(8)} ms  ${(bytes / wall / 1e9).toFixed(1).padStart(6)} GB/s  ` +
      `${(flops / wall / 1e9).toFixed(1).padStart(7)} GFLOP/s  cpu/wall ${(cpu / wall).toFixed(2)}`,
  );
}

const K = 2880;
const run = (n) => !o.only || o.only.split(',').includes(n);
if (run('bf16')) {
  const rows = 201088;
  const w = fill(new Uint8Array(rows * K * 2));
  const x = new Float32Array(K).fill(0.01);
  const out = new Float32Array(rows);
  await time('bf16 GEMV 201088x2880 (t=1)', w.length, 2 * rows * K, () => matmul({ x, tokens: 1, weight: { format: 'bf16', data: w, rows, cols: K }, out }));
  const x4 = new Float32Array(4 * K).fill(0.01);
  const out4 = new Float32Array(4 * rows);
  await time('bf16 GEMV 201088x2880 (t=4)', w.length, 8 * rows * K, () => matmul({ x: x4, tokens: 4, weight: { format: 'bf16', data: w, rows, cols: K }, out: out4 }), 3);
}
if (run('mxfp4')) {
  const rows = 32 * 5760;
  const blocks = fill(new Uint8Array((rows * K) / 2));
  const scales = new Uint8Array((rows * K) / 32).fill(120);
  const x = new Float32Array(K).fill(0.01);
  const out = new Float32Array(rows);
  // The three decode GEMVs (fp32-accurate bf16 dot, int16, opt-in int8), alternated in the same run.
  for (const rep of [0, 1]) {
    for (const mode of ['fp32', 'int16', 'int8']) {
      setDecodeInt16(mode === 'int16');
      setDecodePrecision(mode === 'int8' ? 'int8' : 'fp32');
      const label = mode === 'int16' && !getDecodeInt16() ? 'int16 n/a, fp32' : mode;
      await time(`MXFP4 GEMV 184320x2880 (t=1) ${label}`, blocks.length + scales.length, 2 * rows * K, () =>
        matmul({ x, tokens: 1, weight: { format: 'mxfp4', blocks, scales, rows, cols: K }, out }), rep ? 5 : 3);
    }
  }
  setDecodeInt16(true);
  setDecodePrecision('fp32');
}
if (run('gemm')) {
  const T = 64;
  const rows = 5760;
  const blocks = fill(new Uint8Array((rows * K) / 2));
  const scales = new Uint8Array((rows * K) / 32).fill(120);
  const x = new Float32Array(T * K);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.5;
  const out = new Float32Array(T * rows);
  // fp32 panel + FMA, int16 panel + vpdpwssd (default where the CPU has VNNI) and the opt-in int8 activations +
  // vpdpbusd, in the same run, alternated.
  const initial = raw.prefillInt16();
  const initialPrecision = getPrefillPrecision();
  for (const rep of [0, 1]) {
    for (const mode of ['fp32', 'int16', 'int8']) {
      raw.setPrefillInt16(mode !== 'fp32');
      setPrefillPrecision(mode === 'int8' ? 'int8' : 'fp32');
      const label =
        mode === 'int8'
          ? getPrefillPrecision() === 'int8' ? 'int8' : 'int8 n/a, default'
          : mode === 'int16' ? (raw.prefillInt16() ? 'int16' : 'int16 n/a, fp32') : 'fp32';
      await time(`MXFP4 GEMM 5760x2880 (t=${T}) ${label}`, blocks.length, 2 * rows * K * T, () =>
        matmul({ x, tokens: T, weight: { format: 'mxfp4', blocks, scales, rows, cols: K }, out }), rep ? 5 : 3);
    }
  }
  raw.setPrefillInt16(initial);
  setPrefillPrecision(initialPrecision);
  const T2 = 512;
  const w = fill(new Uint8Array(5120 * K * 2));
  const x2 = new Float32Array(T2 * K).fill(0.01);
  const out2 = new Float32Array(T2 * 5120);
  await time(`bf16 GEMM 5120x2880 (t=${T2})`, w.length, 2 * 5120 * K * T2, () =>
    matmul({ x: x2, tokens: T2, weight: { format: 'bf16', data: w, rows: 5120, cols: K }, out: out2 }), 2);
}
if (run('l2')) {
  // Weights that stay in L2/L3: the compute ceiling of the decode kernels, without DRAM.
  const rows = 512;
  const blocks = fill(new Uint8Array((rows * K) / 2));
  const scales = new Uint8Array((rows * K) / 32).fill(120);
  const w = fill(new Uint8Array(rows * K * 2));
  const x = new Float32Array(K).fill(0.01);
  const out = new Float32Array(rows);
  const reps = 500;
  for (const on of [false, true]) {
    setDecodeInt16(on);
    await time(`MXFP4 GEMV in L2 x${reps} ${on ? 'int16' : 'fp32'}`, reps * (blocks.length + scales.length), reps * 2 * rows * K, async () => {
      for (let i = 0; i < reps; i++) matmulSync({ x, tokens: 1, weight: { format: 'mxfp4', blocks, scales, rows, cols: K }, out });
    }, 1);
  }
  setDecodeInt16(true);
  await time(`bf16 GEMV in L2 x${reps}`, reps * w.length, reps * 2 * rows * K, async () => {
    for (let i = 0; i < reps; i++) matmulSync({ x, tokens: 1, weight: { format: 'bf16', data: w, rows, cols: K }, out });
  }, 1);
}
