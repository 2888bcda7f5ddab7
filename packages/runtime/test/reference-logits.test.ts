import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { createCheckpoint } from '../src/checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../src/checkpoint/open-checkpoint.js';
import { weightsDigest } from '../src/checkpoint/digest.js';
import { referenceBackend } from '../src/backends/reference/reference-backend.js';
import { FIXTURE_CASES } from './fixture-configs.js';

const fixtures = fileURLToPath(new URL('./fixtures/reference/', import.meta.url));

test.each(FIXTURE_CASES)('reference backend matches the seed on $name', async (c) => {
  const meta = JSON.parse(await readFile(join(fixtures, `${c.name}.json`), 'utf8'));
  const raw = await readFile(join(fixtures, `${c.name}.f32`));
  const ref = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const dir = await mkdtemp(join(tmpdir(), 'gptoss-ref-'));
  try {
    await createCheckpoint({ dir, config: c.config, seed: c.seed });
    const ck = await openCheckpoint(dir);
    expect(await weightsDigest(ck.weights)).toBe(meta.weightsSha256);
    const model = await referenceBackend().load(ck);
    const logits = await model.prefill(model.createSequence(), meta.tokens, { logits: 'all' });
    const V = c.config.vocabSize;
    let worst = 0;
    for (let t = 0; t < meta.tokens.length; t++) {
      let num = 0, den = 0;
      for (let i = 0; i < V; i++) {
        const d = logits[t * V + i] - ref[t * V + i];
        num += d * d;
        den += ref[t * V + i] ** 2;
      }
      worst = Math.max(worst, Math.sqrt(num / den));
    }
    console.log(c.name, 'worst rel L2', worst);
    expect(worst).toBeLessThanOrEqual(1e-3);
    await model.dispose();
    await ck.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
