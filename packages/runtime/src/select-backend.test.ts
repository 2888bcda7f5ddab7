import { expect, test } from 'vitest';
import { listBackends, selectBackend } from './select-backend.js';
import { BackendUnavailableError } from './errors.js';

test('reference is always available and auto falls back to the fastest available one', async () => {
  const all = await listBackends();
  expect(all.map((b) => b.name)).toEqual(['webgpu', 'cpu', 'reference']);
  expect(all.find((b) => b.name === 'reference')!.ok).toBe(true);
  for (const b of all) if (!b.ok) expect(b.reason).toMatch(/\S/);
  const choice = await selectBackend('auto');
  const firstOk = all.find((b) => b.ok)!.name;
  expect(choice.backend.name).toBe(firstOk);
  expect(choice.skipped.map((s) => s.name)).toEqual(all.slice(0, all.findIndex((b) => b.ok)).map((b) => b.name));
});

test('asking for an unavailable or unknown backend names the reason', async () => {
  const all = await listBackends();
  const missing = all.find((b) => !b.ok);
  if (missing) {
    const e = await selectBackend(missing.name).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect((e as Error).message).toContain(missing.reason!);
  }
  await expect(selectBackend('tpu' as never)).rejects.toThrow(/unknown backend/);
});
