// A ~300 MB file goes through SafetensorsWriter in chunks and comes back through the streaming
// iterator: resident memory must stay far below the file size on both paths.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SafetensorsCheckpoint, SafetensorsWriter } from '../src/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('mxfp4-mem-')));
afterAll(() => cleanup());

const MiB = 1 << 20;
const TENSORS = 3;
const TENSOR_BYTES = 100 * MiB;
const CHUNK = 4 * MiB;

// Cheap, position-dependent content so a misplaced chunk is caught: every u32 holds its own index
// within the tensor, xor the tensor number.
function fill(chunk: Uint32Array, firstIndex: number, tensor: number): void {
  for (let i = 0; i < chunk.length; i++) chunk[i] = (firstIndex + i) ^ tensor;
}

test('writes and streams back 300 MB with bounded RSS', async () => {
  const p = join(dir, 'big.safetensors');
  const specs = Array.from({ length: TENSORS }, (_, t) => ({ name: `t${t}`, dtype: 'U32' as const, shape: [TENSOR_BYTES / 4] }));
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };

  const w = await SafetensorsWriter.create(p, specs);
  const buf = new Uint32Array(CHUNK / 4);
  for (let t = 0; t < TENSORS; t++) {
    for (let off = 0; off < TENSOR_BYTES; off += CHUNK) {
      fill(buf, off / 4, t);
      await w.write(`t${t}`, new Uint8Array(buf.buffer));
      sample();
    }
  }
  await w.close();
  expect((await stat(p)).size).toBeGreaterThan(TENSORS * TENSOR_BYTES);
  const writeGrowth = peak - rss0;

  const ck = await SafetensorsCheckpoint.open(p);
  const expectChunk = new Uint32Array(CHUNK / 4);
  let bytes = 0;
  let peakRead = process.memoryUsage().rss;
  for await (const { info, data, offset } of ck.iterate({ chunkBytes: CHUNK })) {
    const t = Number(info.name.slice(1));
    fill(expectChunk, offset / 4, t);
    const got = new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
    // Spot-check a few words per chunk (checking every word costs seconds on 2 cores).
    for (const i of [0, 1, got.length >> 1, got.length - 1]) if (got[i] !== expectChunk[i]) expect([info.name, offset, i, got[i]]).toEqual([info.name, offset, i, expectChunk[i]]);
    bytes += data.byteLength;
    peakRead = Math.max(peakRead, process.memoryUsage().rss);
  }
  await ck.close();
  expect(bytes).toBe(TENSORS * TENSOR_BYTES);
  const readGrowth = peakRead - rss0;
  expect({ writeGrowthMiB: Math.round(writeGrowth / MiB), under100: writeGrowth < 100 * MiB }).toMatchObject({ under100: true });
  expect({ readGrowthMiB: Math.round(readGrowth / MiB), under100: readGrowth < 100 * MiB }).toMatchObject({ under100: true });
});
