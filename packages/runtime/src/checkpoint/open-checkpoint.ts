import { open as openFile, readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SafetensorsFile } from '@gptoss/mxfp4';
import { parseConfigJson, type CheckpointLayout, type ModelConfig } from '../config.js';
import { CheckpointFormatError, type CheckpointProblem } from '../errors.js';
import { storedParts, tensorSpecs, type TensorSpec } from './tensor-specs.js';
import type { ModelSource, StoredTensorRef, WeightSource, WeightTensor } from '../backend/types.js';

/** An opened, fully validated checkpoint: its config and its weights (nothing read but headers). */
export interface Checkpoint extends ModelSource {
  readonly path: string;
  readonly layout: CheckpointLayout;
  readonly config: ModelConfig;
  readonly weights: WeightSource;
  /** Total bytes of all weights. */
  readonly byteLength: number;
  close(): Promise<void>;
}

const INDEX_FILE = 'model.safetensors.index.json';

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the directory holding config.json: `path` itself, or `path/original` (a Hugging Face download has both; the
 * root one is used when its config is present).
 */
async function findConfigDir(path: string): Promise<string> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new CheckpointFormatError(path, [{ kind: 'missing-file', message: `${path} does not exist` }]);
  if (!st.isDirectory()) {
    throw new CheckpointFormatError(path, [{ kind: 'missing-file', message: `${path} is not a directory (pass the checkpoint folder)` }]);
  }
  if (await exists(join(path, 'config.json'))) return path;
  if (await exists(join(path, 'original', 'config.json'))) return join(path, 'original');
  throw new CheckpointFormatError(path, [{ kind: 'missing-file', subject: 'config.json', message: `no config.json in ${path} (nor in ${join(path, 'original')})` }]);
}

/** On an unreadable file, say precisely whether it is cut short, since that is the common cause (partial download). */
async function diagnose(file: string, cause: unknown): Promise<CheckpointProblem> {
  try {
    const fh = await openFile(file, 'r');
    try {
      const { size } = await fh.stat();
      const pre = Buffer.alloc(8);
      await fh.read(pre, 0, 8, 0);
      const n = Number(pre.readBigUInt64LE(0));
      if (size >= 8 && n > 0 && n < 100_000_000) {
        if (8 + n > size) {
          return { kind: 'truncated', subject: file, message: `${file} is truncated: its header needs ${8 + n} bytes, the file has ${size}; download it again` };
        }
        const json = Buffer.alloc(n);
        await fh.read(json, 0, n, 8);
        const header = JSON.parse(json.toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
        let end = 0;
        for (const [k, v] of Object.entries(header)) if (k !== '__metadata__' && v.data_offsets) end = Math.max(end, v.data_offsets[1]);
        if (8 + n + end > size) {
          return {
            kind: 'truncated',
            subject: file,
            message: `${file} is truncated: its header describes ${8 + n + end} bytes, the file has ${size}; download it again`,
          };
        }
      }
    } finally {
      await fh.close();
    }
  } catch {
    // fall through to the original error
  }
  return { kind: 'unreadable', subject: file, message: `${file} cannot be read: ${(cause as Error).message}` };
}

class Weight implements WeightTensor {
  readonly byteLength: number;
  constructor(
    readonly name: string,
    readonly dtype: TensorSpec['dtype'],
    readonly shape: readonly number[],
    readonly parts: readonly StoredTensorRef[],
    private readonly files: ReadonlyMap<string, SafetensorsFile>,
  ) {
    this.byteLength = parts.reduce((s, p) => s + p.byteLength, 0);
  }
  private file(p: StoredTensorRef): SafetensorsFile {
    return this.files.get(p.file)!;
  }
  async read(): Promise<Uint8Array> {
    if (this.parts.length === 1) return this.file(this.parts[0]).read(this.parts[0].name);
    const out = new Uint8Array(this.byteLength);
    await this.readInto(out, 0);
    return out;
  }
  async readRange(start: number, end: number): Promise<Uint8Array> {
    if (this.parts.length === 1) return this.file(this.parts[0]).readRange(this.parts[0].name, start, end);
    const out = new Uint8Array(end - start);
    await this.readInto(out, start);
    return out;
  }
  async readInto(dst: Uint8Array, tensorByteOffset = 0): Promise<void> {
    const end = tensorByteOffset + dst.byteLength;
    if (tensorByteOffset < 0 || end > this.byteLength) {
      throw new RangeError(`${this.name}: bytes [${tensorByteOffset}, ${end}) are outside the tensor's ${this.byteLength} bytes`);
    }
    let base = 0;
    for (const p of this.parts) {
      const s = Math.max(tensorByteOffset, base);
      const e = Math.min(end, base + p.byteLength);
      if (s < e) await this.file(p).readInto(p.name, dst.subarray(s - tensorByteOffset, e - tensorByteOffset), s - base);
      base += p.byteLength;
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Opens a gpt-oss checkpoint directory in either layout (auto-detected from config.json): reads config.json and
 * every safetensors header, and checks every tensor the config implies for presence, dtype and shape. Nothing but
 * headers is read. All problems are reported together in one CheckpointFormatError.
 *
 * @example
 * const ckpt = await openCheckpoint('./gpt-oss-20b');       // or ./gpt-oss-20b/original
 * console.log(ckpt.layout, ckpt.config.numHiddenLayers);
 * await ckpt.close();
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const root = resolve(path);
  const dir = await findConfigDir(root);
  const configPath = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (e) {
    throw new CheckpointFormatError(dir, [{ kind: 'bad-config', subject: 'config.json', message: `${configPath} is not valid JSON (${(e as Error).message})` }]);
  }
  const { config, layout } = parseConfigJson(json, configPath);

  const problems: CheckpointProblem[] = [];
  let fileNames: string[];
  const indexPath = join(dir, INDEX_FILE);
  if (await exists(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(await readFile(indexPath, 'utf8'));
    } catch (e) {
      throw new CheckpointFormatError(dir, [{ kind: 'bad-config', subject: INDEX_FILE, message: `${indexPath} is not valid JSON (${(e as Error).message})` }]);
    }
    fileNames = [...new Set(Object.values(index.weight_map ?? {}))].sort();
    for (const f of fileNames) {
      if (!(await exists(join(dir, f)))) {
        problems.push({ kind: 'missing-file', subject: f, message: `${f}, listed in ${INDEX_FILE}, is missing from ${dir}` });
      }
    }
    fileNames = fileNames.filter((f) => problems.every((p) => p.subject !== f));
  } else {
    fileNames = (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
    if (fileNames.length === 0) {
      throw new CheckpointFormatError(dir, [{ kind: 'missing-file', message: `no *.safetensors files in ${dir}` }]);
    }
  }

  const files = new Map<string, SafetensorsFile>();
  const byTensor = new Map<string, SafetensorsFile>();
  for (const f of fileNames) {
    const full = join(dir, f);
    try {
      const sf = await SafetensorsFile.open(full);
      files.set(sf.path, sf);
      for (const name of sf.tensors.keys()) byTensor.set(name, sf);
    } catch (e) {
      problems.push(await diagnose(full, e));
    }
  }

  const fileProblems = problems.length;
  const missing: string[] = [];
  const weights = new Map<string, Weight>();
  const specs = tensorSpecs(config);
  for (const spec of specs) {
    const parts = storedParts(spec, layout, config);
    const refs: StoredTensorRef[] = [];
    let ok = true;
    for (const part of parts) {
      const sf = byTensor.get(part.name);
      if (!sf) {
        ok = false;
        missing.push(part.name);
        if (fileProblems === 0) problems.push({ kind: 'missing-tensor', subject: part.name, message: `tensor ${part.name} is missing (expected ${spec.dtype} ${fmt(part.shape)})` });
        continue;
      }
      const info = sf.tensor(part.name);
      const allowed = [spec.dtype, ...(spec.altDtypes ?? [])];
      if (!allowed.includes(info.dtype as TensorSpec['dtype'])) {
        ok = false;
        problems.push({ kind: 'wrong-dtype', subject: part.name, message: `tensor ${part.name} has dtype ${info.dtype}, expected ${allowed.join(' or ')}` });
      }
      if (!sameShape(info.shape, part.shape)) {
        ok = false;
        problems.push({
          kind: 'wrong-shape',
          subject: part.name,
          message: `tensor ${part.name} has shape ${fmt(info.shape)}, config.json implies ${fmt(part.shape)}`,
        });
      }
      refs.push({ name: info.name, dtype: info.dtype, shape: info.shape, file: info.file, fileOffset: info.fileOffset, byteLength: info.byteLength });
    }
    if (ok && new Set(refs.map((r) => r.dtype)).size > 1) {
      ok = false;
      problems.push({ kind: 'wrong-dtype', subject: spec.name, message: `the parts of ${spec.name} (${refs.map((r) => r.name).join(', ')}) have different dtypes` });
    }
    if (ok) weights.set(spec.name, new Weight(spec.name, refs[0].dtype as TensorSpec['dtype'], spec.shape, refs, files));
  }
  if (fileProblems > 0 && missing.length > 0) {
    // Listing every tensor of an unreadable shard would bury the real problem, the file, under hundreds of lines.
    problems.push({
      kind: 'missing-tensor',
      subject: missing[0],
      message: `${missing.length} tensor(s) the config needs were not found, probably in the file(s) above (e.g. ${missing[0]})`,
    });
  }
  if (layout === 'hf' && problems.some((p) => p.kind === 'missing-tensor' && /_proj_blocks$/.test(p.subject ?? ''))) {
    const dequantised = [...byTensor.keys()].some((n) => /experts\.(gate_up|down)_proj$/.test(n));
    if (dequantised) {
      problems.push({ kind: 'missing-tensor', message: 'this is the dequantised Hugging Face variant (experts stored as bf16 gate_up_proj/down_proj); only the MXFP4 checkpoint is supported' });
    }
  }
  if (problems.length) {
    await Promise.all([...files.values()].map((f) => f.close()));
    throw new CheckpointFormatError(dir, problems);
  }

  const names = specs.map((s) => s.name);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all([...files.values()].map((f) => f.close()));
  };
  const source: WeightSource = {
    path: dir,
    layout,
    names,
    has: (n) => weights.has(n),
    tensor(n) {
      const w = weights.get(n);
      if (!w) throw new CheckpointFormatError(dir, [{ kind: 'missing-tensor', subject: n, message: `no logical tensor named ${n}; names follow the original/ layout, e.g. block.0.attn.qkv.weight` }]);
      return w;
    },
    close,
  };
  const byteLength = [...weights.values()].reduce((s, w) => s + w.byteLength, 0);
  return { path: dir, layout, config, weights: source, byteLength, close };
}
