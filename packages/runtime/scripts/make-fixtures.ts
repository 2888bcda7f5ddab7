// Regenerates test/fixtures/reference/*: for each case in test/fixture-configs.ts, writes the random checkpoint with
// createCheckpoint, runs the seed's PyTorch model on it (make-reference-logits.py) and stores tokens, a digest of
// the weights and the reference logits.
//
// usage: GPT_OSS_DIR=/path/to/gpt-oss-checkout pnpm vitest run --config scripts/fixtures.vitest.config.ts
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { createCheckpoint } from '../src/checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../src/checkpoint/open-checkpoint.js';
import { weightsDigest } from '../src/checkpoint/digest.js';
import { toOriginalConfigJson } from '../src/config.js';
import { FIXTURE_CASES, fixtureTokens } from '../src/backend/conformance-fixtures.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = join(here, '../test/fixtures/reference');

test('make reference fixtures', async () => {
  const seedRepo = process.env.GPT_OSS_DIR;
  if (!seedRepo) throw new Error('set GPT_OSS_DIR to a checkout of github.com/openai/gpt-oss');
  await mkdir(out, { recursive: true });
  for (const c of FIXTURE_CASES) {
    const dir = await mkdtemp(join(tmpdir(), `gptoss-fixture-${c.name}-`));
    try {
      await createCheckpoint({ dir, config: c.config, seed: c.seed, layout: 'original' });
      const ck = await openCheckpoint(dir);
      const digest = await weightsDigest(ck.weights);
      await ck.close();
      const tokens = fixtureTokens(c);
      await writeFile(join(dir, 'tokens.json'), JSON.stringify(tokens));
      const logitsPath = join(dir, 'logits.f32');
      execFileSync('/usr/bin/python3', [join(here, 'make-reference-logits.py'), seedRepo, dir, join(dir, 'tokens.json'), logitsPath], {
        stdio: 'inherit',
      });
      const logits = await readFile(logitsPath);
      await writeFile(join(out, `${c.name}.f32`), logits);
      await writeFile(
        join(out, `${c.name}.json`),
        JSON.stringify(
          {
            name: c.name,
            seed: c.seed,
            config: toOriginalConfigJson(c.config),
            weightsSha256: digest,
            tokens,
            logits: { file: `${c.name}.f32`, dtype: 'float32-le', shape: [tokens.length, c.config.vocabSize] },
            producedBy: 'scripts/make-reference-logits.py (openai/gpt-oss gpt_oss/torch/model.py, weights upcast to fp32)',
          },
          null,
          2,
        ) + '\n',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});
