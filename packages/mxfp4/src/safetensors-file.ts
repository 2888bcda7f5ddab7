import { open as openFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SafetensorsFormatError } from './errors.js';
import { parseHeaderJson, parseHeaderLength } from './safetensors-header.js';
import type { TensorInfo } from './safetensors-header.js';

/** Largest single `read(2)` we issue: below the 2 GiB limit of one call, and keeps Node's buffers modest. */
export const MAX_READ_CHUNK = 1 << 30;

/**
 * Reads exactly `length` bytes at `position` into `dst[offset…]`, in chunks of at most 1 GiB.
 * A short read means the file shrank after it was opened: that is an error, never a partial result.
 * @internal
 */
export async function readFully(
  fh: FileHandle,
  dst: Uint8Array,
  offset: number,
  length: number,
  position: number,
  file: string,
  tensor?: string,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const want = Math.min(length - done, MAX_READ_CHUNK);
    const { bytesRead } = await fh.read(dst, offset + done, want, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsFormatError(
        `${file}: unexpected end of file at byte ${position + done}` +
          `${tensor === undefined ? '' : ` while reading tensor ${JSON.stringify(tensor)}`}; ` +
          'the file was truncated or changed after it was opened',
        { file, tensor },
      );
    }
    done += bytesRead;
  }
}

/**
 * One safetensors file, opened for positional reads. Only the header is read at open; tensor bytes are
 * read on request, so files of any size (beyond 4 GiB, tensors beyond 2 GiB) work in little memory.
 *
 * @example
 * const f = await SafetensorsFile.open('model.safetensors');
 * const info = f.tensor('norm.scale');            // { dtype: 'BF16', shape: [2880], ... }
 * const bytes = await f.read('norm.scale');       // Uint8Array, 8-byte aligned
 * const bf16 = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
 * await f.close();
 */
export class SafetensorsFile {
  /** Absolute path of the file. */
  readonly path: string;
  /** The `__metadata__` map of the header (empty when absent). */
  readonly metadata: Record<string, string>;
  /** Tensors by name, in data order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Byte offset where the data section starts (8 + header length). */
  readonly dataStart: number;
  /** Total file size in bytes. */
  readonly size: number;
  #fh: FileHandle | undefined;

  private constructor(
    path: string,
    fh: FileHandle,
    size: number,
    dataStart: number,
    metadata: Record<string, string>,
    tensors: TensorInfo[],
  ) {
    this.path = path;
    this.#fh = fh;
    this.size = size;
    this.dataStart = dataStart;
    this.metadata = metadata;
    this.tensors = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Opens `path` and validates its header; a truncated file or a lying header fails here. */
  static async open(path: string): Promise<SafetensorsFile> {
    const abs = resolve(path);
    let fh: FileHandle;
    try {
      fh = await openFile(abs, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SafetensorsFormatError(`${abs}: cannot open safetensors file (${code ?? (e as Error).message})`, {
        file: abs,
        cause: e,
      });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        throw new SafetensorsFormatError(`${abs}: expected a safetensors file, found a ${st.isDirectory() ? 'directory' : 'special file'}`, {
          file: abs,
        });
      }
      const size = st.size;
      const prefix = new Uint8Array(8);
      if (size >= 8) await readFully(fh, prefix, 0, 8, 0, abs);
      const n = parseHeaderLength(prefix, size, abs);
      const json = new Uint8Array(n);
      await readFully(fh, json, 0, n, 8, abs);
      const header = parseHeaderJson(json, size, abs);
      return new SafetensorsFile(abs, fh, size, header.dataStart, header.metadata, header.tensors);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  /** The tensor's description; throws {@link SafetensorsFormatError} naming file and tensor when absent. */
  tensor(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t === undefined) {
      throw new SafetensorsFormatError(
        `${this.path}: no tensor named ${JSON.stringify(name)} (the file has ${this.tensors.size} tensors` +
          `${this.tensors.size > 0 ? `, e.g. ${JSON.stringify(this.tensors.keys().next().value)}` : ''})`,
        { file: this.path, tensor: name },
      );
    }
    return t;
  }

  /** Whether the file holds a tensor of this name. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  #handle(): FileHandle {
    if (this.#fh === undefined) {
      throw new SafetensorsFormatError(`${this.path}: the file was closed; open it again to read`, { file: this.path });
    }
    return this.#fh;
  }

  /**
   * All bytes of a tensor in a fresh, 8-byte aligned buffer (read in ≤ 1 GiB chunks). Tensors larger
   * than the runtime's typed-array limit throw a RangeError pointing to {@link readInto}.
   */
  async read(name: string): Promise<Uint8Array> {
    const t = this.tensor(name);
    let dst: Uint8Array;
    try {
      dst = new Uint8Array(t.byteLength);
    } catch (e) {
      throw new RangeError(
        `${this.path}: tensor ${JSON.stringify(name)} is ${t.byteLength} bytes, more than one typed array can hold here; ` +
          'read it in parts with readRange()/readInto() or iterate({ chunkBytes })',
        { cause: e },
      );
    }
    await readFully(this.#handle(), dst, 0, t.byteLength, t.fileOffset, this.path, name);
    return dst;
  }

  /** Bytes `[start, end)` of a tensor (offsets within the tensor) in a fresh, 8-byte aligned buffer. */
  async readRange(name: string, start: number, end: number): Promise<Uint8Array> {
    const t = this.tensor(name);
    this.#checkRange(t, start, end);
    const dst = new Uint8Array(end - start);
    await readFully(this.#handle(), dst, 0, end - start, t.fileOffset + start, this.path, name);
    return dst;
  }

  /** Fills `dst` with the tensor's bytes starting at `tensorByteOffset` (0 by default). */
  async readInto(name: string, dst: Uint8Array, tensorByteOffset = 0): Promise<void> {
    const t = this.tensor(name);
    this.#checkRange(t, tensorByteOffset, tensorByteOffset + dst.byteLength);
    await readFully(this.#handle(), dst, 0, dst.byteLength, t.fileOffset + tensorByteOffset, this.path, name);
  }

  #checkRange(t: TensorInfo, start: number, end: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > t.byteLength) {
      throw new SafetensorsFormatError(
        `${this.path}: tensor ${JSON.stringify(t.name)}: byte range [${start}, ${end}) is outside the tensor's ${t.byteLength} bytes`,
        { file: this.path, tensor: t.name },
      );
    }
  }

  /** Closes the file handle. Idempotent. */
  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh !== undefined) await fh.close();
  }
}
