import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { createCheckpoint } from '../src/checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../src/checkpoint/open-checkpoint.js';
import { referenceBackend } from '../src/backends/reference/reference-backend.js';

test('smoke', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gptoss-'));
  let t0 = performance.now();
  await createCheckpoint({ dir, preset: 'tiny', seed: 1 });
  console.log('create', performance.now() - t0);
  const ck = await openCheckpoint(dir);
  t0 = performance.now();
  const m = await referenceBackend().load(ck);
  console.log('load', performance.now() - t0);
  const s = m.createSequence();
  t0 = performance.now();
  const toks = Array.from({ length: 40 }, (_, i) => (i * 7919) % 1000);
  const l = await m.prefill(s, toks, { logits: 'all' });
  console.log('prefill', performance.now() - t0, l.slice(0, 5), l.length);
  t0 = performance.now();
  for (let i = 0; i < 10; i++) await m.decode([{ sequence: s, token: 5 }]);
  console.log('decode x10', performance.now() - t0);
  expect(l.every(Number.isFinite)).toBe(true);
});
