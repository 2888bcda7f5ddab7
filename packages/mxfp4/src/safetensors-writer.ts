import { open as openFile, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SafetensorsFormatError } from './errors.js';
import { buildHeader } from './safetensors-header.js';
import type { TensorSpec } from './safetensors-header.js';

export type { TensorSpec };

let tmpCounter = 0;

/** Options of {@link SafetensorsWriter.create}. */
export interface SafetensorsWriterOptions {
  /** fsync the file before renaming it into place (default false, like the Python writer). */
  sync?: boolean;
}

async function writeFully(fh: FileHandle, src: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < src.byteLength) {
    const want = Math.min(src.byteLength - done, 1 << 30);
    const { bytesWritten } = await fh.write(src, done, want, position + done);
    done += bytesWritten;
  }
}

/**
 * Streams tensors into a safetensors file with bounded memory. The header is computed from the specs
 * up front, so each chunk goes straight to its final position: nothing is buffered. Bytes go to
 * `<path>.tmp-<pid>-<n>` which is renamed over `path` by {@link close}; on any error (or {@link abort})
 * the temporary file is removed, so `path` is either the complete new file or untouched.
 *
 * Chunks of one tensor arrive in order; tensors may be written in any order (e.g. blocks and scales
 * of a quantized weight side by side).
 *
 * @example
 * const w = await SafetensorsWriter.create('out.safetensors', [{ name: 'x', dtype: 'F32', shape: [2] }]);
 * await w.write('x', new Uint8Array(new Float32Array([1, 2]).buffer));
 * await w.close();
 */
export class SafetensorsWriter {
  /** Absolute path of the final file. */
  readonly path: string;
  readonly #tmp: string;
  #fh: FileHandle | undefined;
  readonly #specs: Map<string, { begin: number; end: number; written: number }>;
  readonly #dataStart: number;
  #state: 'open' | 'closed' | 'aborted' = 'open';
  #queue: Promise<void> = Promise.resolve();
  readonly #sync: boolean;

  private constructor(
    path: string,
    tmp: string,
    fh: FileHandle,
    specs: Map<string, { begin: number; end: number; written: number }>,
    dataStart: number,
    sync: boolean,
  ) {
    this.path = path;
    this.#sync = sync;
    this.#tmp = tmp;
    this.#fh = fh;
    this.#specs = specs;
    this.#dataStart = dataStart;
  }

  /** Validates the specs, writes the header and returns a writer expecting every tensor's bytes. */
  static async create(
    path: string,
    specs: readonly TensorSpec[],
    metadata?: Record<string, string>,
    options?: SafetensorsWriterOptions,
  ): Promise<SafetensorsWriter> {
    const abs = resolve(path);
    const header = buildHeader(specs, metadata, abs);
    const tmp = `${abs}.tmp-${process.pid}-${tmpCounter++}`;
    const fh = await openFile(tmp, 'w');
    const map = new Map<string, { begin: number; end: number; written: number }>();
    specs.forEach((s, i) => map.set(s.name, { begin: header.offsets[i][0], end: header.offsets[i][1], written: 0 }));
    const w = new SafetensorsWriter(abs, tmp, fh, map, header.dataStart, options?.sync ?? false);
    try {
      await writeFully(fh, header.bytes, 0);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w;
  }

  /** Bytes still expected for `name` (0 once it is complete). */
  remaining(name: string): number {
    const s = this.#spec(name);
    return s.end - s.begin - s.written;
  }

  #spec(name: string): { begin: number; end: number; written: number } {
    const s = this.#specs.get(name);
    if (s === undefined) {
      throw new SafetensorsFormatError(`${this.path}: tensor ${JSON.stringify(name)} is not among the specs given to create()`, {
        file: this.path,
        tensor: name,
      });
    }
    return s;
  }

  /**
   * Appends `chunk` to tensor `name`. Writing more bytes than the tensor's spec holds is an error
   * (and aborts the file). Calls may overlap; they are applied in call order.
   */
  write(name: string, chunk: Uint8Array): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#state !== 'open') {
        throw new SafetensorsFormatError(`${this.path}: write after the writer was ${this.#state}`, { file: this.path, tensor: name });
      }
      try {
        const s = this.#spec(name);
        const room = s.end - s.begin - s.written;
        if (chunk.byteLength > room) {
          throw new SafetensorsFormatError(
            `${this.path}: tensor ${JSON.stringify(name)}: chunk of ${chunk.byteLength} bytes overflows the tensor: ` +
              `${s.end - s.begin} bytes declared, ${s.written} already written`,
            { file: this.path, tensor: name },
          );
        }
        await writeFully(this.#fh!, chunk, this.#dataStart + s.begin + s.written);
        s.written += chunk.byteLength;
      } catch (e) {
        await this.#abortNow();
        throw e;
      }
    };
    return this.#enqueue(run);
  }

  /** Writes a whole tensor in one call (the same as one {@link write} of all its bytes). */
  writeTensor(name: string, data: Uint8Array | ArrayBufferView): Promise<void> {
    const u8 = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return this.write(name, u8);
  }

  /** Checks that every tensor is complete, flushes, and renames the file into place. */
  close(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#state !== 'open') {
        throw new SafetensorsFormatError(`${this.path}: close() after the writer was ${this.#state}`, { file: this.path });
      }
      const missing = [...this.#specs].filter(([, s]) => s.written !== s.end - s.begin);
      if (missing.length > 0) {
        await this.#abortNow();
        const [name, s] = missing[0];
        throw new SafetensorsFormatError(
          `${this.path}: ${missing.length} tensor(s) incomplete at close(), e.g. ${JSON.stringify(name)}: ` +
            `${s.end - s.begin} bytes declared, ${s.written} written; the file was not created`,
          { file: this.path, tensor: name },
        );
      }
      try {
        if (this.#sync) await this.#fh!.sync();
        await this.#fh!.close();
        this.#fh = undefined;
        await rename(this.#tmp, this.path);
        this.#state = 'closed';
      } catch (e) {
        await this.#abortNow();
        throw e;
      }
    };
    return this.#enqueue(run);
  }

  /** Discards everything written: closes and deletes the temporary file. Idempotent. */
  abort(): Promise<void> {
    return this.#enqueue(() => this.#abortNow());
  }

  /** Runs `op` after every call made before it; a failed call does not stop the ones queued behind it. */
  #enqueue(op: () => Promise<void>): Promise<void> {
    const p = this.#queue.then(op);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #abortNow(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await unlink(this.#tmp).catch(() => undefined);
  }
}

/** A tensor with its bytes, for {@link saveSafetensors}. */
export interface TensorData extends TensorSpec {
  data: Uint8Array | ArrayBufferView;
}

/** Writes a whole safetensors file from in-memory tensors (convenience over {@link SafetensorsWriter}). */
export async function saveSafetensors(
  path: string,
  tensors: readonly TensorData[],
  metadata?: Record<string, string>,
): Promise<void> {
  const w = await SafetensorsWriter.create(
    path,
    tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
    metadata,
  );
  try {
    for (const t of tensors) await w.writeTensor(t.name, t.data);
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}
