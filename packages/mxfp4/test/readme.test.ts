// The README's opening example, run against a small checkpoint in the real layout.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SafetensorsCheckpoint, dequantizeMxfp4, quantizeMxfp4, saveSafetensors } from '../src/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('mxfp4-readme-')));
afterAll(() => cleanup());

test('README example', async () => {
  const [E, R, G] = [2, 6, 3];
  const blocks0 = new Uint8Array(E * R * G * 16).map((_, i) => (i * 37) & 255);
  blocks0.forEach((_, i) => i % 16 === 0 && (blocks0[i] = 0x77)); // a 6 in each block: scale recoverable
  const scales0 = new Uint8Array(E * R * G).map((_, i) => 120 + (i % 9));
  await saveSafetensors(join(dir, 'model.safetensors'), [
    { name: 'block.0.mlp.mlp1_weight.blocks', dtype: 'U8', shape: [E, R, G, 16], data: blocks0 },
    { name: 'block.0.mlp.mlp1_weight.scales', dtype: 'U8', shape: [E, R, G], data: scales0 },
  ]);

  const ckpt = await SafetensorsCheckpoint.open(dir);
  const blocks = await ckpt.read('block.0.mlp.mlp1_weight.blocks');
  const scales = await ckpt.read('block.0.mlp.mlp1_weight.scales');
  const w = dequantizeMxfp4(blocks, scales);
  const requantized = quantizeMxfp4(w);
  await ckpt.close();

  expect(w.length).toBe(E * R * G * 32);
  expect([...requantized.blocks]).toEqual([...blocks0]);
  expect([...requantized.scales]).toEqual([...scales0]);
});
