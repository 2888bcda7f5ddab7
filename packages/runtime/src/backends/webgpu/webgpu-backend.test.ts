import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { conformanceCases } from '../../backend/conformance.js';
import type { LoadedModel } from '../../backend/types.js';
import { createCheckpoint } from '../../checkpoint/create-checkpoint.js';
import { openCheckpoint } from '../../checkpoint/open-checkpoint.js';
import { Model, type GenerateEvent, type GenerateOptions } from '../../model.js';
import { webgpuBackend } from './webgpu-backend.js';

// CI has no GPU: this runs on SwiftShader when the test process can load it, i.e. when VK_ICD_FILENAMES and
// LD_LIBRARY_PATH point at Chromium's SwiftShader (packages/kernels-webgpu/vitest.config.ts shows how). Set
// GPTOSS_REQUIRE_WEBGPU=1 to turn a missing adapter into a failure.
const backend = webgpuBackend({ allowCpuAdapter: true });
const availability = await backend.available();
if (!availability.ok) console.warn(`webgpu backend skipped: ${availability.reason}`);

describe.skipIf(!availability.ok)('webgpu backend conformance (f32 path, tolerance 1e-3)', () => {
  for (const c of conformanceCases({ backend, loadOptions: { maxContext: 128, maxBatch: 4 } })) test(c.name, c.run, 120_000);
});

test('availability is reported', () => {
  if (process.env.GPTOSS_REQUIRE_WEBGPU === '1') expect(availability).toEqual(expect.objectContaining({ ok: true }));
  else expect(typeof availability.ok).toBe('boolean');
});

test('a CPU rasteriser is not offered for automatic selection by default', async () => {
  const plain = await webgpuBackend().available();
  if (availability.ok && /swiftshader/i.test(availability.detail ?? '')) expect(plain.ok).toBe(false);
});

describe.skipIf(!availability.ok)('generation with device sampling (GPU draws, token ids read back)', () => {
  let dir = '';
  let model: Model;
  let loaded: LoadedModel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gptoss-webgpu-gen-'));
    await createCheckpoint({ dir: join(dir, 'tiny'), preset: 'tiny', seed: 4 });
    const checkpoint = await openCheckpoint(join(dir, 'tiny'));
    loaded = await backend.load(checkpoint, { maxContext: 64 });
    model = await Model.create(checkpoint, loaded, { backend, skipped: [] });
  }, 120_000);
  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (opts: GenerateOptions, prompt = [5, 9, 200, 31]) => {
    const toks: { token: number; logprob: number }[] = [];
    let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
    for await (const ev of model.complete(prompt, opts)) {
      if (ev.type === 'token') toks.push({ token: ev.token, logprob: ev.logprob });
      if (ev.type === 'done') done = ev;
    }
    return { toks, done: done! };
  };

  test('greedy: same tokens and log-probabilities as sampling every token on the host', async () => {
    const spy = vi.spyOn(loaded, 'generateStream');
    const host = await run({ temperature: 0, maxTokens: 20, stopTokens: [], deviceSampling: false });
    expect(spy).not.toHaveBeenCalled();
    const dev = await run({ temperature: 0, maxTokens: 20, stopTokens: [] });
    // First token from the prefill logits on the host, then one device stream for the 19 left.
    expect(spy.mock.calls.map((c) => c[2].maxTokens)).toEqual([19]);
    spy.mockRestore();
    // A backend with only the chunked `generate`: chunks of 4, 8, then the 7 left, and the same tokens.
    const stream = loaded.generateStream;
    const chunks = vi.spyOn(loaded, 'generate');
    loaded.generateStream = undefined;
    try {
      const chunked = await run({ temperature: 0, maxTokens: 20, stopTokens: [] });
      expect(chunks.mock.calls.map((c) => c[2].maxTokens)).toEqual([4, 8, 7]);
      expect(chunked.toks).toEqual(dev.toks);
    } finally {
      loaded.generateStream = stream;
      chunks.mockRestore();
    }
    expect(dev.toks.map((t) => t.token)).toEqual(host.toks.map((t) => t.token));
    for (let i = 0; i < dev.toks.length; i++) expect(Math.abs(dev.toks[i].logprob - host.toks[i].logprob)).toBeLessThan(1e-3);
    expect(dev.done.stopReason).toBe('max-tokens');
    expect(dev.done.tokens).toHaveLength(20);
  });

  test('a stop token ends the generation inside a device chunk; the next call reuses the cache consistently', async () => {
    const all = await run({ temperature: 0, maxTokens: 12, stopTokens: [], deviceSampling: false });
    const stopAt = all.toks[6].token;
    const cut = await run({ temperature: 0, maxTokens: 12, stopTokens: [stopAt] });
    const k = all.toks.findIndex((t) => t.token === stopAt);
    expect(cut.toks.map((t) => t.token)).toEqual(all.toks.slice(0, k + 1).map((t) => t.token));
    expect(cut.done.stopReason).toBe('stop-token');
    // The session's cache (prefix reuse across calls) must hold the prompt and the fed tokens only.
    const again = await run({ temperature: 0, maxTokens: 12, stopTokens: [], deviceSampling: false });
    expect(again.toks.map((t) => t.token)).toEqual(all.toks.map((t) => t.token));
  });

  test('concurrent sessions take turns on the device stream (slices of 64 tokens) and get what each gets alone', async () => {
    const checkpoint = await openCheckpoint(join(dir, 'tiny'));
    const big = await backend.load(checkpoint, { maxContext: 256 });
    const m = await Model.create(checkpoint, big, { backend, skipped: [] });
    try {
      const collect = async (it: AsyncIterable<GenerateEvent>) => {
        const t: number[] = [];
        for await (const ev of it) if (ev.type === 'token') t.push(ev.token);
        return t;
      };
      const opts = { temperature: 0, maxTokens: 100, stopTokens: [] };
      const alone = [await collect(m.complete([7, 8, 9], opts)), await collect(m.complete([11, 3, 5], opts))];
      const spy = vi.spyOn(big, 'generateStream');
      const s2 = m.createSession();
      const both = await Promise.all([collect(m.complete([7, 8, 9], opts)), collect(s2.complete([11, 3, 5], opts))]);
      await s2.close();
      expect(both).toEqual(alone);
      // Each 99-token stream gives the device up after 64 tokens while the other session waits: more than 2 streams.
      expect(spy.mock.calls.length).toBeGreaterThan(2);
      expect(spy.mock.calls.length).toBeLessThanOrEqual(6);
    } finally {
      await m.close();
    }
  }, 120_000);

  test('seeded draws repeat with the same seed and the context limit is honoured', async () => {
    const a = await run({ temperature: 1, topP: 0.95, seed: 7, maxTokens: 16, stopTokens: [] });
    const b = await run({ temperature: 1, topP: 0.95, seed: 7, maxTokens: 16, stopTokens: [] });
    expect(b.toks).toEqual(a.toks);
    for (const t of a.toks) expect(t.logprob).toBeLessThanOrEqual(0);
    const full = await run({ temperature: 0, maxTokens: 500, stopTokens: [] }, Array.from({ length: 50 }, (_, i) => (i * 37) % 1000));
    expect(full.done.stopReason).toBe('context-full');
    expect(50 + full.toks.length - 1).toBe(64);
  });
});
