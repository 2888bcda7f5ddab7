import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, realpath, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PathEscapeError } from '../errors.js';
import type { Editor } from './editor.js';
import { fileNotFoundMessage } from './editor.js';
import { pyRepr } from './py-text.js';

/** Options of {@link FileSystemEditor}. */
export interface FileSystemEditorOptions {
  /**
   * Files are read with universal newlines, like the seed's Python `open()`, so CRLF files match LF patches. With
   * this on (default), a file read as CRLF is written back as CRLF; the seed writes LF.
   */
  preserveCrlf?: boolean;
}

interface FileSnapshot {
  real: string;
  bytes: Buffer | undefined;
  mode: number | undefined;
}

const isErrno = (e: unknown, code: string): boolean =>
  typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;

/**
 * An {@link Editor} confined to one directory. Patch paths must be relative and free of `..`; every path is
 * resolved with `realpath` so a symlink cannot lead outside the root. Writes go to a temporary file in the target
 * directory and are renamed into place, so a reader never sees a half-written file.
 *
 * @example
 * ```ts
 * const editor = new FileSystemEditor('/path/to/workspace');
 * await applyPatch(patchText, editor);
 * ```
 */
export class FileSystemEditor implements Editor {
  readonly root: string;
  private readonly preserveCrlf: boolean;
  private rootReal: Promise<string> | undefined;
  private readonly crlf = new Set<string>();

  constructor(root: string, opts: FileSystemEditorOptions = {}) {
    this.root = path.resolve(root);
    this.preserveCrlf = opts.preserveCrlf ?? true;
  }

  private realRoot(): Promise<string> {
    this.rootReal ??= realpath(this.root);
    return this.rootReal;
  }

  /**
   * The real absolute path a patch path refers to, after checking it stays inside the root. With `followLast` false
   * the last component is not resolved (deleting a symlink removes the link).
   */
  async resolve(p: string, followLast = true): Promise<string> {
    if (p === '' || p.includes('\0')) throw new PathEscapeError(p, 'empty path or NUL character');
    if (path.posix.isAbsolute(p) || path.win32.isAbsolute(p) || /^[A-Za-z]:/.test(p)) {
      throw new PathEscapeError(p, 'absolute path');
    }
    const segments = p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
    if (segments.includes('..')) throw new PathEscapeError(p, "'..' segment");
    if (segments.length === 0) throw new PathEscapeError(p, 'the root itself');
    const root = await this.realRoot();
    const inside = (real: string) => real === root || real.startsWith(root + path.sep);

    // Resolve the longest existing prefix with realpath; the rest does not exist yet and is appended as is.
    const resolvable = followLast ? segments : segments.slice(0, -1);
    let existing = resolvable.length;
    let real: string | undefined;
    while (real === undefined) {
      const candidate = path.join(root, ...resolvable.slice(0, existing));
      try {
        real = await realpath(candidate);
      } catch (e) {
        if (!isErrno(e, 'ENOENT') && !isErrno(e, 'ENOTDIR')) throw e;
        // A component that exists but does not resolve is a dangling symlink: following it could create a file
        // anywhere, so refuse.
        const link = await lstat(candidate).catch(() => undefined);
        if (link?.isSymbolicLink()) throw new PathEscapeError(p, 'dangling symlink');
        existing--;
      }
    }
    if (!inside(real)) throw new PathEscapeError(p, 'a symlink leads outside the root');
    const rest = [...resolvable.slice(existing), ...(followLast ? [] : segments.slice(-1))];
    return path.join(real, ...rest);
  }

  async read(p: string): Promise<string> {
    const real = await this.resolve(p);
    let bytes: Buffer;
    try {
      bytes = await readFile(real);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new Error(fileNotFoundMessage(p), { cause: e });
      if (isErrno(e, 'EISDIR')) throw new Error(`[Errno 21] Is a directory: ${pyRepr(p)}`, { cause: e });
      throw e;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Error(`'utf-8' codec can't decode ${pyRepr(p)}: the file is not UTF-8 text`);
    }
    if (text.includes('\r')) {
      if (/\r\n/.test(text) && !/\r(?!\n)|(?<!\r)\n/.test(text)) this.crlf.add(real);
      text = text.replace(/\r\n?/g, '\n');
    }
    return text;
  }

  async write(p: string, content: string): Promise<void> {
    const real = await this.resolve(p);
    const data = this.preserveCrlf && this.crlf.has(real) ? content.replace(/\n/g, '\r\n') : content;
    await this.atomicWrite(real, Buffer.from(data, 'utf8'));
  }

  async delete(p: string): Promise<void> {
    const real = await this.resolve(p, false);
    await rm(real, { force: true });
  }

  async exists(p: string): Promise<boolean> {
    const real = await this.resolve(p);
    try {
      return (await stat(real)).isFile();
    } catch {
      return false;
    }
  }

  async snapshot(p: string): Promise<FileSnapshot> {
    const real = await this.resolve(p);
    try {
      const [bytes, st] = await Promise.all([readFile(real), stat(real)]);
      return { real, bytes, mode: st.mode };
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return { real, bytes: undefined, mode: undefined };
      throw e;
    }
  }

  async restore(_p: string, snapshot: unknown): Promise<void> {
    const s = snapshot as FileSnapshot;
    if (s.bytes === undefined) await rm(s.real, { force: true });
    else await this.atomicWrite(s.real, s.bytes, s.mode);
  }

  private async atomicWrite(real: string, data: Buffer, mode?: number): Promise<void> {
    const dir = path.dirname(real);
    await mkdir(dir, { recursive: true });
    const previousMode = mode ?? (await stat(real).then((s) => s.mode, () => undefined));
    const tmp = path.join(dir, `.${path.basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, data, { flag: 'wx' });
      if (previousMode !== undefined) await chmod(tmp, previousMode & 0o7777);
      await rename(tmp, real);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }
}
