import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCheckpoint } from '../checkpoint/create-checkpoint.js';
import { openCheckpoint, type Checkpoint } from '../checkpoint/open-checkpoint.js';
import { weightsDigest } from '../checkpoint/digest.js';
import { FIXTURE_CASES, type FixtureCase } from './conformance-fixtures.js';
import type { Backend, LoadOptions, LoadedModel } from './types.js';

export interface ConformanceOptions {
  backend: Backend;
  /** Largest ‖ours − ref‖/‖ref‖ per position: 1e-3 for fp32 compute (default), 2e-2 for bf16/f16 activations. */
  tolerance?: number;
  /** Only these fixture cases (by name). Default: all. */
  cases?: string[];
  /** Where the committed reference fixtures live. Default: packages/runtime/test/fixtures/reference. */
  fixturesDir?: string;
  loadOptions?: LoadOptions;
  /** Checkpoint layout the fixtures are written in (default `original`; the weights are the same in both). */
  layout?: 'original' | 'hf';
}

export interface ConformanceCase {
  name: string;
  run: () => Promise<void>;
}

export class ConformanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceError';
  }
}

function defaultFixturesDir(): string {
  // From src/backend/ (tests, via the source condition) and from dist/ (built).
  for (const rel of ['../../test/fixtures/reference/', '../test/fixtures/reference/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new ConformanceError('reference fixtures not found; pass fixturesDir (packages/runtime/test/fixtures/reference)');
}

/** Largest per-row relative L2 error of `ours` against `ref`, both [rows, cols]. */
export function maxRelL2(ours: Float32Array, ref: Float32Array, cols: number): { worst: number; row: number } {
  if (ours.length !== ref.length) throw new ConformanceError(`length ${ours.length} != reference length ${ref.length}`);
  let worst = 0;
  let row = -1;
  for (let r = 0; r < ref.length / cols; r++) {
    let num = 0;
    let den = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) {
      const d = ours[i] - ref[i];
      num += d * d;
      den += ref[i] * ref[i];
    }
    const e = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    if (!(e <= worst)) {
      worst = e;
      row = r;
    }
  }
  return { worst, row };
}

function expectClose(what: string, ours: Float32Array, ref: Float32Array, cols: number, tol: number): void {
  const { worst, row } = maxRelL2(ours, ref, cols);
  if (!(worst <= tol)) throw new ConformanceError(`${what}: relative L2 error ${worst.toExponential(3)} at row ${row} exceeds ${tol}`);
}

interface Loaded {
  model: LoadedModel;
  /** Closed by the dispose case, after the model (a backend may read the files until then). */
  checkpoint: Checkpoint;
  tokens: number[];
  ref: Float32Array;
  vocab: number;
}

const tmpDirs: string[] = [];
let cleanupRegistered = false;

/**
 * The backend conformance suite as plain async cases (no test framework needed). In a vitest file:
 *
 * ```ts
 * import { conformanceCases } from '@gptoss/runtime/internal';
 * for (const c of conformanceCases({ backend: cpuBackend() })) test(c.name, c.run, 120_000);
 * ```
 *
 * Each fixture's checkpoint is regenerated with createCheckpoint (deterministic) and checked against the committed
 * weights digest, then loaded once per fixture and shared by its cases. Checks: prefill logits vs the seed's
 * reference; `'last'` equals the last row of `'all'`; decode step by step equals prefill; batched decode equals
 * single; truncate + re-prefill (prefix reuse) equals a fresh prefill.
 */
export function conformanceCases(options: ConformanceOptions): ConformanceCase[] {
  const tol = options.tolerance ?? 1e-3;
  const cases = FIXTURE_CASES.filter((c) => !options.cases || options.cases.includes(c.name));
  const loaded = new Map<string, Promise<Loaded>>();
  const load = (c: FixtureCase): Promise<Loaded> => {
    let p = loaded.get(c.name);
    if (!p) {
      p = (async () => {
        const dir = options.fixturesDir ?? defaultFixturesDir();
        const meta = JSON.parse(await readFile(join(dir, `${c.name}.json`), 'utf8')) as { tokens: number[]; weightsSha256: string };
        const raw = await readFile(join(dir, `${c.name}.f32`));
        const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const ckDir = await mkdtemp(join(tmpdir(), `gptoss-conformance-${c.name}-`));
        tmpDirs.push(ckDir);
        if (!cleanupRegistered) {
          cleanupRegistered = true;
          process.once('exit', () => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
        }
        await createCheckpoint({ dir: ckDir, config: c.config, seed: c.seed, layout: options.layout ?? 'original' });
        const ck = await openCheckpoint(ckDir);
        const digest = await weightsDigest(ck.weights);
        if (digest !== meta.weightsSha256) {
          throw new ConformanceError(`${c.name}: createCheckpoint no longer reproduces the fixture's weights (digest ${digest}); regenerate fixtures`);
        }
        const model = await options.backend.load(ck, options.loadOptions);
        return { model, checkpoint: ck, tokens: meta.tokens, ref, vocab: c.config.vocabSize };
      })();
      loaded.set(c.name, p);
    }
    return p;
  };

  const out: ConformanceCase[] = [];
  for (const c of cases) {
    const n = `${options.backend.name} ${c.name}${options.layout === 'hf' ? ' (hf layout)' : ''}`;
    out.push({
      name: `${n}: prefill logits match the seed reference (tol ${tol})`,
      run: async () => {
        const { model, tokens, ref, vocab } = await load(c);
        const seq = model.createSequence();
        const logits = await model.prefill(seq, tokens, { logits: 'all' });
        seq.dispose();
        if (logits.length !== tokens.length * vocab) throw new ConformanceError(`'all' returned ${logits.length} values, expected ${tokens.length}×${vocab}`);
        expectClose('prefill vs reference', logits, ref, vocab, tol);
      },
    });
    out.push({
      name: `${n}: 'last' logits equal the last row of 'all'`,
      run: async () => {
        const { model, tokens, ref, vocab } = await load(c);
        const seq = model.createSequence();
        const last = await model.prefill(seq, tokens, { logits: 'last' });
        seq.dispose();
        if (last.length !== vocab) throw new ConformanceError(`'last' returned ${last.length} values, expected ${vocab}`);
        expectClose('last vs reference', last, ref.subarray((tokens.length - 1) * vocab), vocab, tol);
      },
    });
    out.push({
      name: `${n}: decode step by step equals prefill`,
      run: async () => {
        const { model, tokens, ref, vocab } = await load(c);
        const seq = model.createSequence();
        const rows = new Float32Array(tokens.length * vocab);
        rows.set(await model.prefill(seq, tokens.slice(0, 1), { logits: 'last' }), 0);
        for (let t = 1; t < tokens.length; t++) rows.set(await model.decode([{ sequence: seq, token: tokens[t] }]), t * vocab);
        if (seq.length !== tokens.length) throw new ConformanceError(`sequence length ${seq.length} after ${tokens.length} tokens`);
        seq.dispose();
        expectClose('step-by-step decode vs reference', rows, ref, vocab, tol);
      },
    });
    out.push({
      name: `${n}: batched decode equals single-sequence decode`,
      run: async () => {
        const { model, tokens, vocab } = await load(c);
        const lens = [3, Math.floor(tokens.length / 2), tokens.length - 1];
        const single: Float32Array[] = [];
        for (const l of lens) {
          const s = model.createSequence();
          await model.prefill(s, tokens.slice(0, l), { logits: 'none' });
          single.push(await model.decode([{ sequence: s, token: tokens[l] }]));
          s.dispose();
        }
        const seqs = [];
        for (const l of lens) {
          const s = model.createSequence();
          await model.prefill(s, tokens.slice(0, l), { logits: 'none' });
          seqs.push(s);
        }
        const batched = await model.decode(seqs.map((s, i) => ({ sequence: s, token: tokens[lens[i]] })));
        seqs.forEach((s) => s.dispose());
        if (batched.length !== lens.length * vocab) throw new ConformanceError(`batched decode returned ${batched.length} values`);
        for (let i = 0; i < lens.length; i++) {
          expectClose(`batch row ${i}`, batched.subarray(i * vocab, (i + 1) * vocab), single[i], vocab, tol / 10);
        }
      },
    });
    out.push({
      name: `${n}: truncate + re-prefill equals a fresh prefill (prefix reuse)`,
      run: async () => {
        const { model, tokens, ref, vocab } = await load(c);
        const seq = model.createSequence();
        const other = tokens.map((t) => (t + 1) % vocab);
        const cut = Math.floor(tokens.length / 3);
        await model.prefill(seq, [...tokens.slice(0, cut), ...other.slice(cut)], { logits: 'none' });
        seq.truncate(cut);
        if (seq.length !== cut || seq.tokens.length !== cut) throw new ConformanceError(`after truncate(${cut}) length is ${seq.length}`);
        const tail = await model.prefill(seq, tokens.slice(cut), { logits: 'all' });
        seq.dispose();
        expectClose('re-prefilled tail vs reference', tail, ref.subarray(cut * vocab), vocab, tol);
      },
    });
  }
  out.push({
    name: `${options.backend.name}: dispose`,
    run: async () => {
      for (const p of loaded.values()) {
        const l = await p;
        await l.model.dispose();
        await l.checkpoint.close();
      }
    },
  });
  return out;
}
