import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { applyPatch } from '../../src/apply-patch/apply.js';
import { MemoryEditor } from '../../src/apply-patch/editor.js';

interface Outcome {
  ok?: string;
  files?: Record<string, string>;
  error?: string;
}
interface Case {
  files: Record<string, string>;
  patch: string;
  expected: Outcome;
}

// Random patches over random files, with the seed Python implementation's result for each
// (scripts/apply-patch-differential.mjs made them).
const cases = JSON.parse(
  readFileSync(new URL('../fixtures/apply-patch/seed-differential.json', import.meta.url), 'utf8'),
) as Case[];

const canonical = (o: Outcome) =>
  JSON.stringify(o.error !== undefined ? { error: o.error } : { ok: o.ok, files: Object.entries(o.files ?? {}).sort() });

test(`same files or same error message as the seed on ${cases.length} random patches`, async () => {
  const mismatches: string[] = [];
  for (const c of cases) {
    const editor = new MemoryEditor(c.files);
    let got: Outcome;
    try {
      got = { ok: (await applyPatch(c.patch, editor)).message, files: Object.fromEntries(editor.files) };
    } catch (e) {
      got = { error: (e as Error).message };
    }
    if (canonical(got) !== canonical(c.expected)) {
      mismatches.push(`${JSON.stringify(c.patch)}\n  seed: ${canonical(c.expected)}\n  ours: ${canonical(got)}`);
    }
  }
  expect(mismatches.slice(0, 5)).toEqual([]);
  expect(cases.filter((c) => c.expected.ok).length).toBeGreaterThan(100);
});
