// Interop with the Python `safetensors` package (0.8.0, torch 2.11), both directions. The device run
// (scripts/interop-check.py) loaded our files and wrote its own; both sets are committed here so CI
// keeps checking them without Python.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SafetensorsFile } from '../src/index.js';

const root = join(import.meta.dirname, 'fixtures', 'interop');
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

interface Expected {
  sha256: string;
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; hex: string }>;
}

async function checkFile(path: string, exp: Expected): Promise<void> {
  expect(sha(path)).toBe(exp.sha256);
  const f = await SafetensorsFile.open(path);
  try {
    expect(f.metadata).toEqual(exp.metadata);
    expect([...f.tensors.keys()].sort()).toEqual(Object.keys(exp.tensors).sort());
    for (const [name, t] of Object.entries(exp.tensors)) {
      const info = f.tensor(name);
      expect({ name, dtype: info.dtype, shape: info.shape }).toEqual({ name, dtype: t.dtype, shape: t.shape });
      expect(Buffer.from(await f.read(name)).toString('hex')).toBe(t.hex);
    }
  } finally {
    await f.close();
  }
}

describe('files written by python safetensors load bit-exact in ours', () => {
  const expected = JSON.parse(readFileSync(join(root, 'python', 'expected.json'), 'utf8')) as Record<string, Expected>;
  const files = Object.keys(expected).filter((k) => !k.startsWith('_'));
  test('fixture set is complete', () => {
    expect(files.sort()).toEqual(readdirSync(join(root, 'python')).filter((n) => n.endsWith('.safetensors')).sort());
    expect(files).toContain('torch-f4.safetensors');
  });
  test.each(files)('%s', (file) => checkFile(join(root, 'python', file), expected[file]));
});

describe('files written by ours were loaded bit-exact by python safetensors', () => {
  const expected = JSON.parse(readFileSync(join(root, 'ours', 'expected.json'), 'utf8')) as Record<string, Expected>;
  const report = JSON.parse(readFileSync(join(root, 'python-report.json'), 'utf8')) as {
    ok: boolean;
    ours: Record<string, { ok: boolean; sha256: string; problems: string[]; checks: string[] }>;
  };
  test('python report: every file ok, checked through deserialize, safe_open and torch', () => {
    expect(report.ok).toBe(true);
    for (const [file, r] of Object.entries(report.ours)) {
      expect({ file, ok: r.ok, problems: r.problems }).toEqual({ file, ok: true, problems: [] });
      expect(r.checks).toEqual(['deserialize', 'safe_open', 'torch.load_file']);
    }
    expect(Object.keys(report.ours).sort()).toEqual(Object.keys(expected).sort());
  });
  test.each(Object.keys(expected))('%s: unchanged since python checked it, and reads back in ours', async (file) => {
    expect(sha(join(root, 'ours', file))).toBe(report.ours[file].sha256);
    await checkFile(join(root, 'ours', file), expected[file]);
  });
});
