import { mkdtemp, readFile, rm, truncate, writeFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SafetensorsFile, SafetensorsWriter } from '@gptoss/mxfp4';
import { createCheckpoint } from './create-checkpoint.js';
import { openCheckpoint } from './open-checkpoint.js';
import { weightsDigest } from './digest.js';
import { CheckpointFormatError } from '../errors.js';
import { presetConfig } from '../config.js';
import { referenceBackend } from '../backends/reference/reference-backend.js';

const config = presetConfig('tiny', { vocabSize: 512, numExperts: 8 });
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gptoss-ckpt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fresh(name: string, layout: 'original' | 'hf' = 'original', maxShardBytes?: number): Promise<string> {
  const dir = join(root, name);
  await createCheckpoint({ dir, config, seed: 7, layout, maxShardBytes });
  return dir;
}

async function failure(dir: string): Promise<CheckpointFormatError> {
  const e = await openCheckpoint(dir).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CheckpointFormatError);
  return e as CheckpointFormatError;
}

/** Rewrites `file` through `edit`, which may drop or change tensor specs; data of kept tensors is copied. */
async function rewrite(
  file: string,
  edit: (specs: { name: string; dtype: string; shape: number[] }[]) => { name: string; dtype: string; shape: number[] }[],
): Promise<void> {
  const src = await SafetensorsFile.open(file);
  const specs = edit([...src.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })));
  const tmp = `${file}.new`;
  const w = await SafetensorsWriter.create(tmp, specs as never);
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1) * (({ U8: 1, BF16: 2, F16: 2 } as Record<string, number>)[s.dtype] ?? 4);
    const old = src.tensors.get(s.name);
    await w.write(s.name, old && old.byteLength === n ? await src.read(s.name) : new Uint8Array(n));
  }
  await w.close();
  await src.close();
  await writeFile(file, await readFile(tmp));
  await rm(tmp);
}

describe('layouts', () => {
  test('original and hf (sharded) layouts hold identical weights and give identical logits', async () => {
    const a = await openCheckpoint(await fresh('orig'));
    const b = await openCheckpoint(await fresh('hf', 'hf', 200_000));
    expect(a.layout).toBe('original');
    expect(b.layout).toBe('hf');
    expect(b.config).toEqual(a.config);
    const shards = (await readdir(b.path)).filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(1);
    expect(b.weights.tensor('block.0.attn.qkv.weight').parts.map((p) => p.name)).toEqual([
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
    ]);
    expect(await weightsDigest(b.weights)).toBe(await weightsDigest(a.weights));
    const tokens = [1, 2, 3, 200, 17, 5, 9, 100, 300, 42, 7, 7, 7, 8, 9, 10, 11, 12, 13, 14];
    const ma = await referenceBackend().load(a);
    const la = await ma.prefill(ma.createSequence(), tokens, { logits: 'all' });
    const mb = await referenceBackend().load(b);
    const lb = await mb.prefill(mb.createSequence(), tokens, { logits: 'all' });
    expect(Buffer.from(lb.buffer).equals(Buffer.from(la.buffer))).toBe(true);
    await a.close();
    await b.close();
  });

  test('a Hugging Face download root with original/ is opened through its root config', async () => {
    const dir = await fresh('hf-root', 'hf');
    await createCheckpoint({ dir: join(dir, 'original'), config, seed: 7 });
    const ck = await openCheckpoint(dir);
    expect(ck.layout).toBe('hf');
    await ck.close();
    const only = join(root, 'only-original');
    await createCheckpoint({ dir: join(only, 'original'), config, seed: 7 });
    const ck2 = await openCheckpoint(only);
    expect(ck2.layout).toBe('original');
    await ck2.close();
  });

  test('partial reads across HF qkv parts match the original bytes', async () => {
    const a = await openCheckpoint(join(root, 'orig'));
    const b = await openCheckpoint(join(root, 'hf'));
    const ta = a.weights.tensor('block.1.attn.qkv.weight');
    const tb = b.weights.tensor('block.1.attn.qkv.weight');
    const qBytes = tb.parts[0].byteLength;
    expect(Buffer.from(await tb.readRange(qBytes - 10, qBytes + 300))).toEqual(Buffer.from(await ta.readRange(qBytes - 10, qBytes + 300)));
    await a.close();
    await b.close();
  });
});

describe('malformed checkpoints', () => {
  test('missing tensor', async () => {
    const dir = await fresh('missing');
    await rewrite(join(dir, 'model.safetensors'), (s) => s.filter((t) => t.name !== 'block.1.attn.sinks'));
    const e = await failure(dir);
    expect(e.problems).toEqual([expect.objectContaining({ kind: 'missing-tensor', subject: 'block.1.attn.sinks' })]);
    expect(e.message).toMatch(/tensor block\.1\.attn\.sinks is missing \(expected BF16 \[4\]\)/);
  });

  test('wrong shape', async () => {
    const dir = await fresh('shape');
    await rewrite(join(dir, 'model.safetensors'), (s) =>
      s.map((t) => (t.name === 'block.0.mlp.gate.weight' ? { ...t, shape: [8, 32] } : t)),
    );
    const e = await failure(dir);
    expect(e.problems).toEqual([expect.objectContaining({ kind: 'wrong-shape', subject: 'block.0.mlp.gate.weight' })]);
    expect(e.message).toContain('has shape [8, 32], config.json implies [8, 64]');
  });

  test('wrong dtype', async () => {
    const dir = await fresh('dtype');
    await rewrite(join(dir, 'model.safetensors'), (s) =>
      s.map((t) => (t.name === 'block.0.attn.qkv.bias' ? { ...t, dtype: 'F16' } : t)),
    );
    const e = await failure(dir);
    expect(e.problems).toEqual([expect.objectContaining({ kind: 'wrong-dtype', subject: 'block.0.attn.qkv.bias' })]);
    expect(e.message).toContain('has dtype F16, expected BF16');
  });

  test('several problems are reported together', async () => {
    const dir = await fresh('many');
    await rewrite(join(dir, 'model.safetensors'), (s) =>
      s
        .filter((t) => t.name !== 'norm.scale')
        .map((t) => (t.name === 'embedding.weight' ? { ...t, dtype: 'F32' } : t)),
    );
    const e = await failure(dir);
    expect(e.problems.map((p) => p.kind).sort()).toEqual(['missing-tensor', 'wrong-dtype']);
  });

  test('truncated file', async () => {
    const dir = await fresh('trunc');
    const f = join(dir, 'model.safetensors');
    await truncate(f, (await stat(f)).size - 1000);
    const e = await failure(dir);
    expect(e.problems[0]).toEqual(expect.objectContaining({ kind: 'truncated' }));
    expect(e.message).toMatch(/model\.safetensors is truncated: .* download it again/);
  });

  test('missing shard listed in the index', async () => {
    const dir = await fresh('shard', 'hf', 200_000);
    await rm(join(dir, 'model-00002-of-00003.safetensors').replace('00003', String((await readdir(dir)).filter((x) => x.endsWith('.safetensors')).length).padStart(5, '0')));
    const e = await failure(dir);
    expect(e.problems[0]).toEqual(expect.objectContaining({ kind: 'missing-file' }));
    expect(e.problems.some((p) => p.kind === 'missing-tensor')).toBe(true);
  });

  test.each([
    ['num_experts', 'required key "num_experts" is missing'],
    ['hidden_size', 'required key "hidden_size" is missing'],
    ['head_dim', 'required key "head_dim" is missing'],
  ])('config.json without %s', async (key, msg) => {
    const dir = await fresh(`cfg-${key}`);
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    delete cfg[key];
    await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
    const e = await failure(dir);
    expect(e.problems).toEqual([expect.objectContaining({ kind: 'bad-config', subject: key })]);
    expect(e.message).toContain(msg);
  });

  test('config.json with a non-numeric value, and invalid JSON', async () => {
    const dir = await fresh('cfg-bad');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), hidden_size: '64' }));
    expect((await failure(dir)).message).toContain('"hidden_size" must be a number, found "64"');
    await writeFile(join(dir, 'config.json'), '{ nope');
    expect((await failure(dir)).problems[0].kind).toBe('bad-config');
  });

  test('no config.json / not a directory / no safetensors', async () => {
    expect((await failure(join(root, 'does-not-exist'))).problems[0].kind).toBe('missing-file');
    const dir = await fresh('nofiles');
    await rm(join(dir, 'model.safetensors'));
    expect((await failure(dir)).message).toContain('no *.safetensors files');
    await rm(join(dir, 'config.json'));
    expect((await failure(dir)).message).toContain('no config.json');
  });
});

test('createCheckpoint is deterministic and seed-dependent', async () => {
  const a = await openCheckpoint(await fresh('det1'));
  const dir2 = join(root, 'det2');
  await createCheckpoint({ dir: dir2, config, seed: 7 });
  const b = await openCheckpoint(dir2);
  const dir3 = join(root, 'det3');
  await createCheckpoint({ dir: dir3, config, seed: 8 });
  const c = await openCheckpoint(dir3);
  expect(await weightsDigest(b.weights)).toBe(await weightsDigest(a.weights));
  expect(await weightsDigest(c.weights)).not.toBe(await weightsDigest(a.weights));
  await Promise.all([a.close(), b.close(), c.close()]);
});
