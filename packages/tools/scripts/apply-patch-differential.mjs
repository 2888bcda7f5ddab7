// Makes test/fixtures/apply-patch/seed-differential.json: random patches (valid, fuzzy and broken) over random
// files, with what the seed's Python apply_patch does with each (the resulting files or its error message).
//
// Usage: node scripts/apply-patch-differential.mjs /path/to/gpt-oss/gpt_oss/tools/apply_patch.py [count] [seed]
// Needs python3. The test (test/apply-patch/seed-differential.test.ts) only reads the JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [seedFile, countArg = '800', seedArg = '20251124'] = process.argv.slice(2);
if (!seedFile) throw new Error('usage: apply-patch-differential.mjs SEED_APPLY_PATCH_PY [count] [seed]');
const here = path.dirname(fileURLToPath(import.meta.url));

let state = Number(seedArg);
const rnd = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (a) => a[Math.floor(rnd() * a.length)];
// Lines chosen to collide: whitespace variants (fuzz levels), CR, and lines that look like patch syntax.
const VOCAB = ['a', 'b', 'c', '  a', 'a  ', '\tb', '', 'def f():', '    pass', 'x\r', '***', '@@', '+p', '-m'];

function makeCase() {
  const files = {};
  const names = ['f1', 'f2', 'd/f3'];
  for (const n of names) {
    if (rnd() < 0.8) {
      const body = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => pick(VOCAB)).join('\n');
      files[n] = body + (rnd() < 0.5 ? '\n' : '');
    }
  }
  const lines = ['*** Begin Patch'];
  const ops = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < ops; k++) {
    const n = pick(names);
    const kind = rnd();
    if (kind < 0.15) {
      lines.push(`*** Add File: ${n}`);
      for (let i = 0; i < rnd() * 3; i++) lines.push('+' + pick(VOCAB));
      if (rnd() < 0.1) lines.push(pick(VOCAB));
    } else if (kind < 0.25) {
      lines.push(`*** Delete File: ${n}`);
    } else {
      lines.push(`*** Update File: ${n}`);
      if (rnd() < 0.15) lines.push(`*** Move to: moved/${n}`);
      const src = (files[n] ?? 'a\nb').split('\n');
      const hunks = 1 + Math.floor(rnd() * 3);
      let pos = 0;
      for (let h = 0; h < hunks; h++) {
        const r = rnd();
        if (h > 0 || r < 0.5) lines.push(r < 0.3 ? '@@' : `@@ ${pick([...src, 'zz'])}`);
        const len = Math.floor(rnd() * 4);
        pos = Math.min(src.length, pos + Math.floor(rnd() * 3));
        for (let i = 0; i < len && pos < src.length; i++, pos++) {
          const t = rnd();
          let l = src[pos];
          if (rnd() < 0.1) l = l.trim();
          if (rnd() < 0.05) l = pick(VOCAB);
          if (t < 0.5) lines.push(' ' + l);
          else if (t < 0.75) lines.push('-' + l);
          else lines.push('-' + l, '+' + pick(VOCAB));
        }
        if (rnd() < 0.3) lines.push('+' + pick(VOCAB));
        if (rnd() < 0.15) lines.push('*** End of File');
      }
    }
  }
  lines.push('*** End Patch');
  const sep = rnd() < 0.1 ? '\r\n' : '\n';
  return { files, patch: lines.join(sep) + (rnd() < 0.5 ? sep : '') };
}

const cases = Array.from({ length: Number(countArg) }, makeCase);
const dir = mkdtempSync(path.join(tmpdir(), 'apply-patch-diff-'));
writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(cases));
execFileSync('python3', [
  path.join(here, 'seed-apply-patch-harness.py'),
  seedFile,
  path.join(dir, 'cases.json'),
  path.join(dir, 'out.json'),
]);
const expected = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8'));
const fixture = cases.map((c, i) => ({ ...c, expected: expected[i] }));
const out = path.join(here, '..', 'test', 'fixtures', 'apply-patch', 'seed-differential.json');
writeFileSync(out, JSON.stringify(fixture, null, 0) + '\n');
console.log(`${fixture.length} cases (${expected.filter((e) => e.ok).length} applied by the seed) → ${out}`);
