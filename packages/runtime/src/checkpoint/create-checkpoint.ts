import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SafetensorsWriter } from '@gptoss/mxfp4';
import {
  checkConfig,
  presetConfig,
  toHfConfigJson,
  toOriginalConfigJson,
  type CheckpointLayout,
  type ModelConfig,
  type PresetName,
} from '../config.js';
import { CheckpointFormatError } from '../errors.js';
import { Rng, hashString } from '../rng.js';
import { storedParts, tensorSpecs, type TensorSpec } from './tensor-specs.js';

export interface CreateCheckpointOptions {
  /** Directory to write (created if needed). Existing files of the same names are replaced. */
  dir: string;
  config?: ModelConfig;
  /** Used when `config` is absent. Default `tiny`. */
  preset?: PresetName;
  /** Same seed + config → byte-identical weights in either layout. Default 0. */
  seed?: number;
  /** `original` (default): config.json + model.safetensors with block.N.* names. `hf`: Hugging Face root. */
  layout?: CheckpointLayout;
  /** HF layout: start a new shard when one would exceed this many bytes (default 4 GiB). */
  maxShardBytes?: number;
  onProgress?: (p: { writtenBytes: number; totalBytes: number; tensor: string }) => void;
  signal?: AbortSignal;
}

export interface CreatedCheckpoint {
  dir: string;
  config: ModelConfig;
  layout: CheckpointLayout;
  files: string[];
  byteLength: number;
}

const CHUNK_ELEMENTS = 1 << 22;

/**
 * How a tensor's random values are drawn. Scales follow the fan-in (≈ 1/√fan_in, which is ≈ 0.02 at full size), so
 * activations stay finite and O(1) in tiny and full-size models alike; MXFP4 scale exponents are picked around the
 * one that gives the same RMS (FP4 values have RMS ≈ 2.93).
 */
function recipe(spec: TensorSpec, c: ModelConfig): { kind: 'normal'; mean: number; std: number } | { kind: 'bytes' } | { kind: 'scales'; center: number } {
  const n = spec.name;
  if (n.endsWith('.blocks')) return { kind: 'bytes' };
  if (n.endsWith('.scales')) {
    const fanIn = n.includes('mlp1') ? c.hiddenSize : c.intermediateSize;
    return { kind: 'scales', center: 127 + Math.round(-Math.log2(2.93 * Math.sqrt(fanIn))) };
  }
  if (n.endsWith('norm.scale')) return { kind: 'normal', mean: 1, std: 0.1 };
  if (n === 'embedding.weight') return { kind: 'normal', mean: 0, std: 1 };
  if (n.endsWith('.sinks')) return { kind: 'normal', mean: 0, std: 1 };
  if (n.endsWith('bias')) return { kind: 'normal', mean: 0, std: 0.02 };
  const fanIn = spec.shape[spec.shape.length - 1];
  return { kind: 'normal', mean: 0, std: 1 / Math.sqrt(fanIn) };
}

function bytesOf(spec: TensorSpec): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  return spec.dtype === 'U8' ? n : spec.dtype === 'BF16' ? 2 * n : 4 * n;
}

/** Yields the tensor's bytes in chunks; the bytes depend only on (seed, tensor name, config). */
function* tensorBytes(spec: TensorSpec, c: ModelConfig, seed: number): Generator<Uint8Array> {
  const rng = new Rng((hashString(spec.name) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0);
  const r = recipe(spec, c);
  const total = spec.shape.reduce((a, b) => a * b, 1);
  if (r.kind === 'bytes' || r.kind === 'scales') {
    for (let done = 0; done < total; done += CHUNK_ELEMENTS * 4) {
      const out = new Uint8Array(Math.min(CHUNK_ELEMENTS * 4, total - done));
      rng.fillBytes(out);
      if (r.kind === 'scales') for (let i = 0; i < out.length; i++) out[i] = r.center - 1 + (out[i] % 3);
      yield out;
    }
    return;
  }
  const f = new Float32Array(CHUNK_ELEMENTS);
  const u = new Uint32Array(f.buffer);
  for (let done = 0; done < total; done += CHUNK_ELEMENTS) {
    const n = Math.min(CHUNK_ELEMENTS, total - done);
    const vals = f.subarray(0, n);
    rng.fillNormal(vals, r.mean, r.std);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const b = u[i];
      out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
    }
    yield new Uint8Array(out.buffer);
  }
}

interface FilePlan {
  file: string;
  tensors: { spec: TensorSpec; parts: { name: string; shape: number[]; bytes: number }[] }[];
}

/**
 * Writes a random gpt-oss checkpoint with the real tensor names, dtypes and shapes (MXFP4 experts), streamed to
 * disk in 16 MiB chunks so full-size presets need little memory.
 *
 * @example
 * await createCheckpoint({ dir: '/tmp/tiny', preset: 'tiny', seed: 1 });
 * const ckpt = await openCheckpoint('/tmp/tiny');
 */
export async function createCheckpoint(options: CreateCheckpointOptions): Promise<CreatedCheckpoint> {
  const config = options.config ?? presetConfig(options.preset ?? 'tiny');
  const problems = checkConfig(config);
  if (problems.length) throw new CheckpointFormatError('config', problems);
  const layout = options.layout ?? 'original';
  const seed = options.seed ?? 0;
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });

  const specs = tensorSpecs(config);
  const items = specs.map((spec) => ({
    spec,
    parts: storedParts(spec, layout, config).map((p) => ({ ...p, bytes: (p.shape.reduce((a, b) => a * b, 1) * bytesOf(spec)) / spec.shape.reduce((a, b) => a * b, 1) })),
  }));
  const plans: FilePlan[] = [];
  if (layout === 'original') {
    plans.push({ file: 'model.safetensors', tensors: items });
  } else {
    const max = options.maxShardBytes ?? 4 * 2 ** 30;
    let cur: FilePlan['tensors'] = [];
    let size = 0;
    for (const it of items) {
      const b = bytesOf(it.spec);
      if (cur.length && size + b > max) {
        plans.push({ file: '', tensors: cur });
        cur = [];
        size = 0;
      }
      cur.push(it);
      size += b;
    }
    plans.push({ file: '', tensors: cur });
    const n = plans.length;
    plans.forEach((p, i) => (p.file = `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`));
  }

  const totalBytes = specs.reduce((s, sp) => s + bytesOf(sp), 0);
  let writtenBytes = 0;
  const weightMap: Record<string, string> = {};
  for (const plan of plans) {
    const path = join(dir, plan.file);
    const writer = await SafetensorsWriter.create(
      path,
      plan.tensors.flatMap((t) => t.parts.map((p) => ({ name: p.name, dtype: t.spec.dtype, shape: p.shape }))),
      { format: 'pt' },
    );
    try {
      for (const t of plan.tensors) {
        // Route the logical byte stream onto the stored parts (HF qkv: q_proj, k_proj, v_proj rows in order).
        let part = 0;
        let left = t.parts[0].bytes;
        for (const chunk of tensorBytes(t.spec, config, seed)) {
          options.signal?.throwIfAborted();
          let off = 0;
          while (off < chunk.length) {
            const n = Math.min(left, chunk.length - off);
            await writer.write(t.parts[part].name, chunk.subarray(off, off + n));
            off += n;
            left -= n;
            if (left === 0 && part + 1 < t.parts.length) left = t.parts[++part].bytes;
          }
          writtenBytes += chunk.length;
          options.onProgress?.({ writtenBytes, totalBytes, tensor: t.spec.name });
        }
        for (const p of t.parts) weightMap[p.name] = plan.file;
      }
      await writer.close();
    } catch (e) {
      // The writer writes to a temporary file; aborting removes it and leaves `path` untouched.
      await writer.abort().catch(() => undefined);
      throw e;
    }
  }
  const configJson = layout === 'original' ? toOriginalConfigJson(config) : toHfConfigJson(config);
  await writeFile(join(dir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  if (layout === 'hf') {
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2) + '\n',
    );
  }
  return { dir, config, layout, files: plans.map((p) => join(dir, p.file)), byteLength: totalBytes };
}
