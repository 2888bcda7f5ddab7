import { existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { conformanceCases } from '../../backend/conformance.js';
import { FIXTURE_CASES, fixtureTokens } from '../../backend/conformance-fixtures.js';
import type { Backend } from '../../backend/types.js';
import { createCheckpoint } from '../../checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../../checkpoint/open-checkpoint.js';
import { referenceBackend } from '../reference/reference-backend.js';
import { cpuBackend } from './cpu-backend.js';
import { loadKernels } from './kernels-module.js';

// Until @gptoss/runtime lists @gptoss/kernels-native as an (optional) dependency, the workspace source is used.
const sibling = new URL('../../../../kernels-native/src/index.ts', import.meta.url);
if (!process.env.GPTOSS_KERNELS_NATIVE_MODULE && existsSync(fileURLToPath(sibling))) {
  try {
    await import(/* @vite-ignore */ '@gptoss/kernels-native' as string);
  } catch {
    process.env.GPTOSS_KERNELS_NATIVE_MODULE = sibling.href;
  }
}

const backend = cpuBackend();
const availability = await backend.available();
if (!availability.ok) console.warn(`cpu backend skipped: ${availability.reason}`);
const kernels = availability.ok ? await loadKernels() : undefined;
const isas = kernels && typeof kernels !== 'string' ? kernels.supportedIsas() : [];

// The whole conformance suite once per kernel variant (scalar, AVX2, AVX-512 on this machine).
for (const isa of isas) {
  describe(`isa ${isa}`, () => {
    beforeAll(() => {
      if (kernels && typeof kernels !== 'string') kernels.setIsa(isa);
    });
    for (const c of conformanceCases({ backend })) test(c.name, c.run, 120_000);
  });
}

// Opt-in int8 decode (AVX-512 VNNI): MXFP4 expert GEMVs with int8 activations, held to the bf16/f16 activation class.
const int8Decode = isas.includes('avx512') && kernels && typeof kernels !== 'string' && kernels.setDecodePrecision;
describe.skipIf(!int8Decode)('isa avx512, int8 decode precision (tolerance 2e-2)', () => {
  beforeAll(() => {
    if (kernels && typeof kernels !== 'string') {
      kernels.setIsa('avx512');
      kernels.setDecodePrecision?.('int8');
    }
  });
  afterAll(() => {
    if (kernels && typeof kernels !== 'string') kernels.setDecodePrecision?.('fp32');
  });
  test('the backend reports it', async () => {
    if (!kernels || typeof kernels === 'string') return;
    expect(kernels.getDecodePrecision?.()).toBe('int8');
  });
  // The int8 GEMVs are within ~5e-3 of fp32 (kernels-native's tests), but two of the three tiny random fixtures
  // amplify any activation rounding through router top-k flips: there, bf16 prefill activations (~1e-3 per GEMM)
  // already give 0.19 relative L2 on h128-i96-l3-e16, and int8 decode gives 0.13-0.27. So: every check on the
  // fixture that does not flip (h64-l2-e8), and batched-vs-single decode (same rounding both ways) on all of them.
  const picked = conformanceCases({ backend, tolerance: 2e-2 }).filter(
    (c) => c.name.includes(' h64-l2-e8: ') || c.name.includes('batched decode equals single-sequence decode'),
  );
  for (const c of picked) test(c.name, c.run, 120_000);
});

async function greedy(b: Backend, dir: string, prompt: number[], steps: number): Promise<number[]> {
  const ck = await openCheckpoint(dir);
  const model = await b.load(ck);
  const seq = model.createSequence();
  let logits = await model.prefill(seq, prompt);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    out.push(best);
    logits = await model.decode([{ sequence: seq, token: best }]);
  }
  await model.dispose();
  await ck.weights.close();
  return out;
}

describe.skipIf(!availability.ok)('greedy decode agrees with the reference backend', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  test.each(['original', 'hf'] as const)('%s layout', async (layout) => {
    const c = FIXTURE_CASES[0];
    const dir = await mkdtemp(join(tmpdir(), `gptoss-cpu-greedy-${layout}-`));
    dirs.push(dir);
    await createCheckpoint({ dir, config: c.config, seed: c.seed, layout });
    const prompt = fixtureTokens(c).slice(0, 7);
    const ref = await greedy(referenceBackend(), dir, prompt, 16);
    const cpu = await greedy(backend, dir, prompt, 16);
    expect(cpu).toEqual(ref);
  }, 120_000);
});
