import { pyRepr } from './py-text.js';

/** A value or a promise of it: in-memory editors answer synchronously, file-system editors asynchronously. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Where a patch reads and writes files. Paths are exactly as written in the patch. `read` of a missing file must
 * throw (its message reaches the model as `Error applying patch: {message}`).
 */
export interface Editor {
  read(path: string): MaybePromise<string>;
  /** Writes the whole file, creating parent directories. */
  write(path: string, content: string): MaybePromise<void>;
  /** Removes the file; a missing file is not an error. */
  delete(path: string): MaybePromise<void>;
  exists(path: string): MaybePromise<boolean>;
  /**
   * Optional exact capture of a file (bytes, mode), `undefined` when it does not exist. With {@link restore}, used to
   * roll back a commit that failed half-way; without them, `read`/`write`/`delete` are used.
   */
  snapshot?(path: string): MaybePromise<unknown>;
  restore?(path: string, snapshot: unknown): MaybePromise<void>;
}

/** The message CPython gives for a missing file (`str(FileNotFoundError)`), which the seed passes to the model. */
export function fileNotFoundMessage(path: string): string {
  return `[Errno 2] No such file or directory: ${pyRepr(path)}`;
}

/** An {@link Editor} over a `Map` — for tests, dry runs and virtual workspaces. */
export class MemoryEditor implements Editor {
  readonly files: Map<string, string>;

  constructor(files: Iterable<[string, string]> | Record<string, string> = {}) {
    this.files = new Map(Symbol.iterator in files ? (files as Iterable<[string, string]>) : Object.entries(files));
  }

  read(path: string): string {
    const text = this.files.get(path);
    if (text === undefined) throw new Error(fileNotFoundMessage(path));
    return text;
  }

  write(path: string, content: string): void {
    this.files.set(path, content);
  }

  delete(path: string): void {
    this.files.delete(path);
  }

  exists(path: string): boolean {
    return this.files.has(path);
  }
}
