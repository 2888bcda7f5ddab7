import { PatchError } from '../errors.js';
import type { Editor } from './editor.js';
import { identifyFilesNeeded, parsePatch } from './parser.js';
import type { ParsedPatch, PatchAction, PatchChunk } from './parser.js';
import { pyLstrip, pyStrip } from './py-text.js';

/** One file change, fully computed before anything is written. */
export type FileChange =
  | { type: 'add'; path: string; newContent: string }
  | { type: 'delete'; path: string; oldContent: string }
  | { type: 'update'; path: string; oldContent: string; newContent: string; movePath: string | undefined };

/** Options of {@link applyPatch}. */
export interface ApplyPatchOptions {
  /**
   * Re-indent inserted lines when a hunk only matched ignoring indentation (the newest seed does this; SPEC §5.4 and
   * older seeds insert the lines verbatim). Default false.
   */
  matchIndentation?: boolean;
}

/** What {@link applyPatch} did. */
export interface ApplyPatchResult {
  /** `Done!`, the text the model receives. */
  message: 'Done!';
  changes: FileChange[];
  fuzz: number;
}

const indentOf = (line: string): string => line.slice(0, line.length - pyLstrip(line).length);

/** Swaps the patch's base indentation for the file's when a hunk matched only after stripping whitespace. */
function reindent(file: readonly string[], chunk: PatchChunk): string[] {
  const actual = file.slice(chunk.origIndex, chunk.origIndex + chunk.delLines.length);
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s, i) => s === b[i]);
  if (chunk.insLines.length === 0 || same(actual, chunk.delLines)) return chunk.insLines;
  if (!same(actual.map(pyStrip), chunk.delLines.map(pyStrip))) return chunk.insLines;
  const differing = actual
    .map((a, i) => [a, chunk.delLines[i]!] as const)
    .filter(([a, d]) => a !== d && pyStrip(d) !== '');
  if (differing.length === 0) return chunk.insLines;
  const fileBase = indentOf(differing[0]![0]);
  const patchBase = indentOf(differing[0]![1]);
  for (const [a, d] of differing) {
    if (!d.startsWith(patchBase) || a !== fileBase + d.slice(patchBase.length)) return chunk.insLines;
  }
  const out: string[] = [];
  for (const line of chunk.insLines) {
    if (pyStrip(line) === '') out.push(line);
    else if (line.startsWith(patchBase)) out.push(fileBase + line.slice(patchBase.length));
    else return chunk.insLines;
  }
  return out;
}

/** Applies an update's chunks to the original text. */
export function applyChunks(text: string, chunks: readonly PatchChunk[], path: string, opts: ApplyPatchOptions = {}): string {
  const file = text.split('\n');
  const out: string[] = [];
  let at = 0;
  for (const chunk of chunks) {
    if (chunk.origIndex > file.length) {
      throw new PatchError(`${path}: chunk.orig_index ${chunk.origIndex} exceeds file length`);
    }
    if (at > chunk.origIndex) throw new PatchError(`${path}: overlapping chunks at ${at} > ${chunk.origIndex}`);
    out.push(...file.slice(at, chunk.origIndex));
    at = chunk.origIndex;
    out.push(...(opts.matchIndentation ? reindent(file, chunk) : chunk.insLines));
    at += chunk.delLines.length;
  }
  out.push(...file.slice(at));
  return out.join('\n');
}

/** Turns a parsed patch into the list of file changes, in patch order. Pure. */
export function patchToChanges(
  patch: ParsedPatch,
  files: ReadonlyMap<string, string>,
  opts: ApplyPatchOptions = {},
): FileChange[] {
  const changes: FileChange[] = [];
  for (const [path, action] of patch.actions as Map<string, PatchAction>) {
    if (action.type === 'add') changes.push({ type: 'add', path, newContent: action.content });
    else if (action.type === 'delete') changes.push({ type: 'delete', path, oldContent: files.get(path)! });
    else {
      const oldContent = files.get(path)!;
      changes.push({
        type: 'update',
        path,
        oldContent,
        newContent: applyChunks(oldContent, action.chunks, path, opts),
        movePath: action.movePath,
      });
    }
  }
  return changes;
}

interface Snapshot {
  path: string;
  state: unknown;
}

/**
 * Applies patch text through `editor` (SPEC §5.4). Everything is read, parsed and computed in memory first; only
 * then are the changes committed, in patch order (delete → remove; add → write; update → write to the move target
 * or in place, then remove the original if moved). If a commit step fails, the files already touched are restored,
 * so a failing patch leaves the workspace as it was.
 *
 * @example
 * ```ts
 * const editor = new MemoryEditor({ 'hello.txt': 'hello\n' });
 * await applyPatch('*** Begin Patch\n*** Update File: hello.txt\n-hello\n+hi\n*** End Patch', editor);
 * editor.files.get('hello.txt'); // 'hi\n'
 * ```
 */
export async function applyPatch(text: string, editor: Editor, opts: ApplyPatchOptions = {}): Promise<ApplyPatchResult> {
  if (!text.startsWith('*** Begin Patch')) throw new PatchError('Patch text must start with *** Begin Patch');
  const files = new Map<string, string>();
  for (const path of identifyFilesNeeded(text)) files.set(path, await editor.read(path));
  const patch = parsePatch(text, files);
  const changes = patchToChanges(patch, files, opts);
  await commit(changes, editor);
  return { message: 'Done!', changes, fuzz: patch.fuzz };
}

async function commit(changes: readonly FileChange[], editor: Editor): Promise<void> {
  // Snapshot every path a step will touch, before the first write. This also makes a confined editor check every
  // path (including add and move targets) before anything changes.
  const touched = new Map<string, Snapshot>();
  const remember = async (path: string) => {
    if (touched.has(path)) return;
    const state = editor.snapshot
      ? await editor.snapshot(path)
      : (await editor.exists(path))
        ? await editor.read(path)
        : undefined;
    touched.set(path, { path, state });
  };
  for (const c of changes) {
    await remember(c.path);
    if (c.type === 'update' && c.movePath) await remember(c.movePath);
  }
  const done: Snapshot[] = [];
  const step = async (path: string, action: () => unknown) => {
    done.push(touched.get(path)!);
    await action();
  };
  try {
    for (const c of changes) {
      if (c.type === 'delete') await step(c.path, () => editor.delete(c.path));
      else if (c.type === 'add') await step(c.path, () => editor.write(c.path, c.newContent));
      else {
        const target = c.movePath || c.path;
        await step(target, () => editor.write(target, c.newContent));
        if (c.movePath) await step(c.path, () => editor.delete(c.path));
      }
    }
  } catch (e) {
    for (const snap of done.reverse()) {
      try {
        if (editor.restore) await editor.restore(snap.path, snap.state);
        else if (snap.state === undefined) await editor.delete(snap.path);
        else await editor.write(snap.path, snap.state as string);
      } catch {
        // Best effort: the original error is the one to report.
      }
    }
    throw e;
  }
}
