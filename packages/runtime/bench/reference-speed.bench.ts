// Reference backend speed on the `tiny` preset (real vocabulary 201088, hidden 64, 2 layers, 8 experts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { createCheckpoint } from '../src/checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../src/checkpoint/open-checkpoint.js';
import { referenceBackend } from '../src/backends/reference/reference-backend.js';
import { Sampler } from '../src/sampling.js';

test('reference backend on tiny', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gptoss-bench-'));
  try {
    await createCheckpoint({ dir, preset: 'tiny', seed: 0 });
    const ck = await openCheckpoint(dir);
    const model = await referenceBackend().load(ck);
    const tokens = Array.from({ length: 256 }, (_, i) => (i * 7919) % 200000);
    // warm-up (JIT, expert dequantisation)
    await model.prefill(model.createSequence(), tokens.slice(0, 32), { logits: 'last' });
    for (const n of [64, 256]) {
      const seq = model.createSequence();
      const t0 = performance.now();
      await model.prefill(seq, tokens.slice(0, n), { logits: 'last' });
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(`RESULT reference tiny prefill ${n} tokens: ${(n / s).toFixed(1)} tok/s\n`);
      seq.dispose();
    }
    const seq = model.createSequence();
    let logits = await model.prefill(seq, tokens.slice(0, 16), { logits: 'last' });
    const sampler = new Sampler({ seed: 1 });
    const steps = 128;
    const t0 = performance.now();
    let samplingMs = 0;
    for (let i = 0; i < steps; i++) {
      const t1 = performance.now();
      const tok = sampler.sample(logits).token;
      samplingMs += performance.now() - t1;
      logits = await model.decode([{ sequence: seq, token: tok }]);
    }
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`RESULT reference tiny decode batch 1: ${(steps / s).toFixed(1)} tok/s (sampling ${(samplingMs / steps).toFixed(2)} ms/token of ${((s * 1000) / steps).toFixed(2)})\n`);
    const seqs = [0, 1, 2, 3].map(() => model.createSequence());
    for (const q of seqs) await model.prefill(q, tokens.slice(0, 16), { logits: 'none' });
    const t2 = performance.now();
    for (let i = 0; i < 32; i++) await model.decode(seqs.map((q) => ({ sequence: q, token: 5 + i })));
    const s2 = (performance.now() - t2) / 1000;
    process.stderr.write(`RESULT reference tiny decode batch 4: ${((4 * 32) / s2).toFixed(1)} tok/s total\n`);
    await model.dispose();
    await ck.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
