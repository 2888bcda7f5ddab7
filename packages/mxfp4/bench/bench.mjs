// Benchmarks for @gptoss/mxfp4 (run: pnpm bench, which builds first). Prints a Markdown table.
//  1. dequantize throughput, GB/s of output, f32 and bf16, against a naive per-nibble decoder and a
//     plain typed-array copy of the same output size (the memory-bandwidth ceiling of this machine).
//  2. safetensors read throughput: SafetensorsFile.readInto of a 1 GiB tensor vs a plain fs
//     FileHandle.read of the same bytes, same file, same run (page cache warm for both).
// Env: BENCH_QUICK=1 for a smaller, faster run.
import { open, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SafetensorsFile, SafetensorsWriter, dequantizeMxfp4, dequantizeMxfp4ToBf16, FP4_E2M1_VALUES, quantizeMxfp4 } from '../dist/index.js';

const quick = process.env.BENCH_QUICK === '1';
const GB = 1e9;
const rows = [];

function time(fn, reps) {
  fn(); // warm-up / JIT
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { best: ts[0] / 1e3, median: ts[ts.length >> 1] / 1e3 };
}
function row(what, bytes, t, note = '') {
  rows.push(`| ${what} | ${(bytes / 1e6).toFixed(0)} MB | ${(bytes / GB / t.median).toFixed(2)} | ${(bytes / GB / t.best).toFixed(2)} | ${note} |`);
}

// --- dequantize ---------------------------------------------------------------------------------
const values = quick ? 1 << 22 : 1 << 25; // 32 Mi values → 128 MiB of f32 output
const groups = values / 32;
const blocks = new Uint8Array(groups * 16);
const scales = new Uint8Array(groups);
let s = 1;
for (let i = 0; i < blocks.length; i++) blocks[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
for (let g = 0; g < groups; g++) scales[g] = 100 + (g % 50);
const outF32 = new Float32Array(values);
const outBf16 = new Uint16Array(values);
const reps = quick ? 3 : 7;

row('dequantizeMxfp4 → f32', values * 4, time(() => dequantizeMxfp4(blocks, scales, outF32), reps), 'GB/s of f32 output');
row('dequantizeMxfp4ToBf16 → bf16', values * 2, time(() => dequantizeMxfp4ToBf16(blocks, scales, outBf16), reps), 'GB/s of bf16 output');
// Peer 1: the obvious decoder (shift, mask, table, 2 ** (s − 127) per element).
row(
  'naive decoder → f32 (peer)',
  values * 4,
  time(() => {
    for (let i = 0; i < values; i++) {
      const b = blocks[i >> 1];
      outF32[i] = FP4_E2M1_VALUES[i & 1 ? b >> 4 : b & 15] * 2 ** (scales[i >> 5] - 127);
    }
  }, quick ? 1 : 3),
  'same output',
);
// Quantize for completeness (no peer): GB/s of f32 input.
dequantizeMxfp4(blocks, scales, outF32);
const qBlocks = new Uint8Array(blocks.length);
const qScales = new Uint8Array(groups);
row('quantizeMxfp4 f32 → MXFP4', values * 4, time(() => quantizeMxfp4(outF32, { blocks: qBlocks, scales: qScales }), quick ? 1 : 3), 'GB/s of f32 input');
// Peer 2: copying an f32 array of the output size (read + write of that many bytes).
const src = new Float32Array(values).fill(1);
row('Float32Array.set copy (peer)', values * 4, time(() => outF32.set(src), reps), 'memory ceiling: copy of output size');

// --- safetensors read ---------------------------------------------------------------------------
const size = quick ? 256 << 20 : 1 << 30;
const path = join(tmpdir(), `mxfp4-bench-${process.pid}.safetensors`);
{
  const w = await SafetensorsWriter.create(path, [{ name: 'big', dtype: 'U8', shape: [size] }]);
  const chunk = new Uint8Array(64 << 20).fill(7);
  for (let off = 0; off < size; off += chunk.length) await w.write('big', chunk.subarray(0, Math.min(chunk.length, size - off)));
  await w.close();
}
const dst = new Uint8Array(size);
const f = await SafetensorsFile.open(path);
const info = f.tensor('big');
const fh = await open(path, 'r');
const rreps = quick ? 3 : 5;
// Interleave the two so page-cache state and machine load affect both alike.
const tOurs = [];
const tFs = [];
for (let i = 0; i < rreps + 1; i++) {
  let t0 = performance.now();
  await f.readInto('big', dst);
  tOurs.push(performance.now() - t0);
  t0 = performance.now();
  let done = 0;
  while (done < size) {
    const { bytesRead } = await fh.read(dst, done, Math.min(size - done, 1 << 30), info.fileOffset + done);
    done += bytesRead;
  }
  tFs.push(performance.now() - t0);
}
const stat = (ts) => {
  const a = ts.slice(1).sort((x, y) => x - y);
  return { best: a[0] / 1e3, median: a[a.length >> 1] / 1e3 };
};
row('SafetensorsFile.readInto (1 tensor)', size, stat(tOurs), 'page cache warm');
row('fs FileHandle.read same bytes (peer)', size, stat(tFs), 'page cache warm');
await fh.close();
await f.close();
await rm(path, { force: true });

console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, node ${process.version}, ${new Date().toISOString()}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}${quick ? ' (BENCH_QUICK)' : ''}`);
console.log('| benchmark | bytes | GB/s (median) | GB/s (best) | note |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
