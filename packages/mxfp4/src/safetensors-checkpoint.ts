import { readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { SafetensorsFormatError } from './errors.js';
import { SafetensorsFile } from './safetensors-file.js';
import type { TensorInfo } from './safetensors-header.js';

/** Name of the index file of a sharded checkpoint (Hugging Face convention). */
export const SHARDED_INDEX_NAME = 'model.safetensors.index.json';

/** Options of {@link SafetensorsCheckpoint.iterate}. */
export interface IterateOptions {
  /** Only these tensors, in this order (default: every tensor, file by file in data order). */
  names?: Iterable<string>;
  /**
   * Split tensors larger than this into several items of at most this many bytes (default: whole
   * tensors). Peak memory is one item.
   */
  chunkBytes?: number;
}

/** One item of {@link SafetensorsCheckpoint.iterate}: `data` holds bytes `[offset, offset + data.length)` of the tensor. */
export interface TensorChunk {
  info: TensorInfo;
  data: Uint8Array;
  /** Byte offset of `data` within the tensor (0 unless the tensor was split by `chunkBytes`). */
  offset: number;
}

function isInside(rel: string): boolean {
  if (isAbsolute(rel)) return false;
  const n = normalize(rel);
  return n !== '..' && !n.startsWith(`..${sep}`) && !n.includes(`${sep}..${sep}`);
}

/**
 * A checkpoint: one `.safetensors` file, or a directory holding either `model.safetensors.index.json`
 * (sharded; only the files it names are opened) or any number of `*.safetensors` files (all opened, as
 * the gpt-oss reference does). Tensor names must be unique across files.
 *
 * @example
 * const ckpt = await SafetensorsCheckpoint.open('gpt-oss-20b/original');
 * for await (const { info, data } of ckpt) console.log(info.name, info.dtype, data.length);
 * await ckpt.close();
 */
export class SafetensorsCheckpoint {
  /** The path given to {@link open}, resolved. */
  readonly path: string;
  /** Open files, sorted by path. */
  readonly files: readonly SafetensorsFile[];
  /** Every tensor by name. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The index's `metadata` for a sharded checkpoint; the file's `__metadata__` for one file; otherwise merged. */
  readonly metadata: Record<string, string | number>;
  readonly #fileOf: Map<string, SafetensorsFile>;

  private constructor(
    path: string,
    files: SafetensorsFile[],
    tensors: Map<string, TensorInfo>,
    fileOf: Map<string, SafetensorsFile>,
    metadata: Record<string, string | number>,
  ) {
    this.path = path;
    this.files = files;
    this.tensors = tensors;
    this.#fileOf = fileOf;
    this.metadata = metadata;
  }

  static async open(pathOrDir: string): Promise<SafetensorsCheckpoint> {
    const abs = resolve(pathOrDir);
    let isDir: boolean;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch (e) {
      throw new SafetensorsFormatError(`${abs}: cannot open checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
        file: abs,
        cause: e,
      });
    }
    if (!isDir) {
      const f = await SafetensorsFile.open(abs);
      return new SafetensorsCheckpoint(abs, [f], new Map(f.tensors), new Map([...f.tensors.keys()].map((k) => [k, f])), {
        ...f.metadata,
      });
    }
    const indexPath = join(abs, SHARDED_INDEX_NAME);
    let indexText: string | undefined;
    try {
      indexText = await readFile(indexPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (indexText !== undefined) return SafetensorsCheckpoint.#openIndexed(abs, indexPath, indexText);

    const names = (await readdir(abs)).filter((n) => n.endsWith('.safetensors')).sort();
    if (names.length === 0) {
      throw new SafetensorsFormatError(`${abs}: no *.safetensors files and no ${SHARDED_INDEX_NAME} in this directory`, { file: abs });
    }
    const files: SafetensorsFile[] = [];
    try {
      for (const n of names) files.push(await SafetensorsFile.open(join(abs, n)));
      const tensors = new Map<string, TensorInfo>();
      const fileOf = new Map<string, SafetensorsFile>();
      const metadata: Record<string, string> = {};
      for (const f of files) {
        Object.assign(metadata, f.metadata);
        for (const [name, info] of f.tensors) {
          const prev = fileOf.get(name);
          if (prev !== undefined) {
            throw new SafetensorsFormatError(
              `${abs}: tensor ${JSON.stringify(name)} is in both ${prev.path} and ${f.path}; names must be unique in a checkpoint`,
              { file: f.path, tensor: name },
            );
          }
          tensors.set(name, info);
          fileOf.set(name, f);
        }
      }
      return new SafetensorsCheckpoint(abs, files, tensors, fileOf, metadata);
    } catch (e) {
      await Promise.all(files.map((f) => f.close().catch(() => undefined)));
      throw e;
    }
  }

  static async #openIndexed(dir: string, indexPath: string, text: string): Promise<SafetensorsCheckpoint> {
    let index: unknown;
    try {
      index = JSON.parse(text);
    } catch (e) {
      throw new SafetensorsFormatError(`${indexPath}: not valid JSON (${(e as Error).message})`, { file: indexPath, cause: e });
    }
    const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
      throw new SafetensorsFormatError(`${indexPath}: expected an object with "weight_map": {tensor: file}; found none`, {
        file: indexPath,
      });
    }
    const entries = Object.entries(weightMap as Record<string, unknown>);
    const shardNames = new Set<string>();
    for (const [tensor, file] of entries) {
      if (typeof file !== 'string' || !isInside(file)) {
        throw new SafetensorsFormatError(
          `${indexPath}: weight_map[${JSON.stringify(tensor)}] must be a file name inside the checkpoint directory; found ${JSON.stringify(file)}`,
          { file: indexPath, tensor },
        );
      }
      shardNames.add(file);
    }
    const files: SafetensorsFile[] = [];
    const byName = new Map<string, SafetensorsFile>();
    try {
      for (const n of [...shardNames].sort()) {
        const f = await SafetensorsFile.open(join(dir, n));
        files.push(f);
        byName.set(n, f);
      }
      const tensors = new Map<string, TensorInfo>();
      const fileOf = new Map<string, SafetensorsFile>();
      for (const [tensor, file] of entries as [string, string][]) {
        const f = byName.get(file)!;
        const info = f.tensors.get(tensor);
        if (info === undefined) {
          throw new SafetensorsFormatError(
            `${indexPath}: weight_map says tensor ${JSON.stringify(tensor)} is in ${file}, but that file has no such tensor`,
            { file: f.path, tensor },
          );
        }
        tensors.set(tensor, info);
        fileOf.set(tensor, f);
      }
      const meta = (index as { metadata?: unknown }).metadata;
      const metadata: Record<string, string | number> = {};
      if (typeof meta === 'object' && meta !== null && !Array.isArray(meta)) {
        for (const [k, v] of Object.entries(meta)) if (typeof v === 'string' || typeof v === 'number') metadata[k] = v;
      }
      return new SafetensorsCheckpoint(dir, files, tensors, fileOf, metadata);
    } catch (e) {
      await Promise.all(files.map((f) => f.close().catch(() => undefined)));
      throw e;
    }
  }

  #file(name: string): SafetensorsFile {
    const f = this.#fileOf.get(name);
    if (f === undefined) {
      throw new SafetensorsFormatError(`${this.path}: checkpoint has no tensor named ${JSON.stringify(name)} (${this.tensors.size} tensors)`, {
        file: this.path,
        tensor: name,
      });
    }
    return f;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The tensor's description; throws {@link SafetensorsFormatError} when absent. */
  tensor(name: string): TensorInfo {
    return this.#file(name).tensor(name);
  }

  read(name: string): Promise<Uint8Array> {
    return this.#file(name).read(name);
  }

  readRange(name: string, start: number, end: number): Promise<Uint8Array> {
    return this.#file(name).readRange(name, start, end);
  }

  readInto(name: string, dst: Uint8Array, tensorByteOffset = 0): Promise<void> {
    return this.#file(name).readInto(name, dst, tensorByteOffset);
  }

  /**
   * Streams tensors one at a time (or in chunks of `chunkBytes`): only the item being consumed is in
   * memory, so a checkpoint of any size can be walked.
   */
  async *iterate(opts: IterateOptions = {}): AsyncGenerator<TensorChunk> {
    const names =
      opts.names !== undefined
        ? [...opts.names]
        : this.files.flatMap((f) => [...f.tensors.keys()].filter((n) => this.#fileOf.get(n) === f));
    const chunk = opts.chunkBytes;
    if (chunk !== undefined && (!Number.isSafeInteger(chunk) || chunk <= 0)) {
      throw new RangeError(`iterate: chunkBytes must be a positive integer; found ${chunk}`);
    }
    for (const name of names) {
      const info = this.tensor(name);
      if (chunk === undefined || info.byteLength <= chunk) {
        yield { info, data: await this.read(name), offset: 0 };
        continue;
      }
      for (let off = 0; off < info.byteLength; off += chunk) {
        const end = Math.min(off + chunk, info.byteLength);
        yield { info, data: await this.readRange(name, off, end), offset: off };
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<TensorChunk> {
    return this.iterate();
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

/**
 * Writes `model.safetensors.index.json` into `dir`: `{ metadata, weight_map }` as Hugging Face does.
 * `metadata.total_size` is computed from the shards' headers (sum of tensor bytes) unless given.
 * Every shard named must exist and hold the tensors mapped to it.
 */
export async function writeShardedIndex(
  dir: string,
  weightMap: Record<string, string>,
  metadata?: Record<string, string | number>,
): Promise<void> {
  const absDir = resolve(dir);
  const byFile = new Map<string, string[]>();
  for (const [tensor, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || !isInside(file)) {
      throw new SafetensorsFormatError(`writeShardedIndex: weightMap[${JSON.stringify(tensor)}] must be a file name inside ${absDir}; found ${JSON.stringify(file)}`, {
        file: absDir,
        tensor,
      });
    }
    const list = byFile.get(file) ?? [];
    list.push(tensor);
    byFile.set(file, list);
  }
  let total = 0;
  for (const [file, tensors] of byFile) {
    const f = await SafetensorsFile.open(join(absDir, file));
    try {
      for (const t of tensors) total += f.tensor(t).byteLength;
    } finally {
      await f.close();
    }
  }
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(weightMap).sort()) {
    Object.defineProperty(sorted, k, { value: weightMap[k], enumerable: true, writable: true, configurable: true });
  }
  const body = JSON.stringify({ metadata: { total_size: total, ...metadata }, weight_map: sorted }, null, 2) + '\n';
  const target = join(absDir, SHARDED_INDEX_NAME);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, body);
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
