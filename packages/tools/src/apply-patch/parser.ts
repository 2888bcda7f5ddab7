import { PatchError } from '../errors.js';
import { pyRstrip, pySplitlines, pyStrip } from './py-text.js';

/** One replacement inside an updated file: at `origIndex`, `delLines` are replaced by `insLines`. */
export interface PatchChunk {
  /** Line index in the original file (after the hunk was located). */
  origIndex: number;
  delLines: string[];
  insLines: string[];
}

/** What a patch does to one path. */
export type PatchAction =
  | { type: 'add'; content: string }
  | { type: 'delete' }
  | { type: 'update'; chunks: PatchChunk[]; movePath: string | undefined };

/** A parsed patch: actions in patch order, keyed by path. */
export interface ParsedPatch {
  actions: Map<string, PatchAction>;
  /**
   * How loosely the hunks matched: +1 per anchor or hunk matched ignoring trailing whitespace, +100 per hunk matched
   * ignoring all surrounding whitespace, +10000 per end-of-file hunk found away from the end. The seed accumulates
   * it without reporting it; it is exposed here for callers that want to warn.
   */
  fuzz: number;
}

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';
const UPDATE = '*** Update File: ';
const DELETE = '*** Delete File: ';
const ADD = '*** Add File: ';
const MOVE = '*** Move to: ';
const EOF_MARK = '*** End of File';
const FILE_HEADERS = ['*** Update File:', '*** Delete File:', '*** Add File:'];

const stripCr = (line: string): string => (line.endsWith('\r') ? line.replace(/\r+$/, '') : line);
const startsWithAny = (s: string, prefixes: readonly string[]): boolean => prefixes.some((p) => s.startsWith(p));

/** Paths whose current text the patch needs (updated and deleted files), in patch order. */
export function identifyFilesNeeded(text: string): string[] {
  const lines = pySplitlines(text);
  return [
    ...lines.filter((l) => l.startsWith(UPDATE)).map((l) => l.slice(UPDATE.length)),
    ...lines.filter((l) => l.startsWith(DELETE)).map((l) => l.slice(DELETE.length)),
  ];
}

/** Paths the patch adds. */
export function identifyFilesAdded(text: string): string[] {
  return pySplitlines(text)
    .filter((l) => l.startsWith(ADD))
    .map((l) => l.slice(ADD.length));
}

interface Section {
  context: string[];
  chunks: PatchChunk[];
  end: number;
  eof: boolean;
}

/** Reads one hunk body starting at `start`: the lines to find (`context`), the chunks, where it ends, EOF flag. */
function readSection(lines: readonly string[], start: number): Section {
  const context: string[] = [];
  const chunks: PatchChunk[] = [];
  let del: string[] = [];
  let ins: string[] = [];
  let mode: 'keep' | 'add' | 'delete' = 'keep';
  let i = start;
  const flush = () => {
    if (ins.length > 0 || del.length > 0) {
      chunks.push({ origIndex: context.length - del.length, delLines: del, insLines: ins });
    }
    del = [];
    ins = [];
  };
  while (i < lines.length) {
    let line = lines[i]!;
    if (startsWithAny(line, ['@@', END, ...FILE_HEADERS, EOF_MARK]) || line === '***') break;
    if (line.startsWith('***')) throw new PatchError(`Invalid Line: ${line}`);
    i++;
    const previous = mode;
    if (line === '') line = ' ';
    const marker = line[0];
    if (marker === '+') mode = 'add';
    else if (marker === '-') mode = 'delete';
    else if (marker === ' ') mode = 'keep';
    else throw new PatchError(`Invalid Line: ${line}`);
    const body = line.slice(1);
    if (mode === 'keep' && previous !== 'keep') flush();
    if (mode === 'delete') {
      del.push(body);
      context.push(body);
    } else if (mode === 'add') {
      ins.push(body);
    } else {
      context.push(body);
    }
  }
  flush();
  if (i < lines.length && lines[i] === EOF_MARK) return { context, chunks, end: i + 1, eof: true };
  if (i === start) throw new PatchError('Nothing in this section');
  return { context, chunks, end: i, eof: false };
}

function sameLines(file: readonly string[], at: number, context: readonly string[], norm: (s: string) => string): boolean {
  if (at + context.length > file.length) return false;
  for (let k = 0; k < context.length; k++) if (norm(file[at + k]!) !== norm(context[k]!)) return false;
  return true;
}

/** Finds `context` at or after `start`: exact (fuzz 0), ignoring trailing whitespace (1), ignoring both ends (100). */
function findContextFrom(file: readonly string[], context: readonly string[], start: number): [number, number] {
  if (context.length === 0) return [start, 0];
  // Python's range(start, len) with a negative start visits slices that are too short to match; skip them.
  const from = Math.max(start, 0);
  const passes: [(s: string) => string, number][] = [
    [(s) => s, 0],
    [pyRstrip, 1],
    [pyStrip, 100],
  ];
  for (const [norm, fuzz] of passes) {
    for (let i = from; i < file.length; i++) if (sameLines(file, i, context, norm)) return [i, fuzz];
  }
  return [-1, 0];
}

function findContext(file: readonly string[], context: readonly string[], start: number, eof: boolean): [number, number] {
  if (!eof) return findContextFrom(file, context, start);
  const [atEnd, fuzz] = findContextFrom(file, context, file.length - context.length);
  if (atEnd !== -1) return [atEnd, fuzz];
  const [found, fuzz2] = findContextFrom(file, context, start);
  return [found, fuzz2 + 10_000];
}

class Parser {
  index = 1;
  fuzz = 0;
  readonly actions = new Map<string, PatchAction>();

  constructor(
    private readonly lines: readonly string[],
    private readonly files: ReadonlyMap<string, string>,
  ) {}

  private current(): string {
    if (this.index >= this.lines.length) throw new PatchError('Unexpected end of input while parsing patch');
    return this.lines[this.index]!;
  }

  private atEnd(prefixes: readonly string[]): boolean {
    if (this.index >= this.lines.length) return true;
    return startsWithAny(stripCr(this.current()), prefixes);
  }

  /** Consumes the current line if it starts with `prefix` and returns the rest ('' otherwise). */
  private take(prefix: string): string {
    if (stripCr(this.current()).startsWith(prefix)) {
      const rest = this.current().slice(prefix.length);
      this.index++;
      return rest;
    }
    return '';
  }

  parse(): void {
    while (!this.atEnd([END])) {
      let path = this.take(UPDATE);
      if (path) {
        if (this.actions.has(path)) throw new PatchError(`Duplicate update for file: ${path}`);
        const moveTo = this.take(MOVE);
        const text = this.files.get(path);
        if (text === undefined) throw new PatchError(`Update File Error - missing file: ${path}`);
        const chunks = this.parseUpdate(text);
        this.actions.set(path, { type: 'update', chunks, movePath: moveTo || undefined });
        continue;
      }
      path = this.take(DELETE);
      if (path) {
        if (this.actions.has(path)) throw new PatchError(`Duplicate delete for file: ${path}`);
        if (!this.files.has(path)) throw new PatchError(`Delete File Error - missing file: ${path}`);
        this.actions.set(path, { type: 'delete' });
        continue;
      }
      path = this.take(ADD);
      if (path) {
        if (this.actions.has(path)) throw new PatchError(`Duplicate add for file: ${path}`);
        if (this.files.has(path)) throw new PatchError(`Add File Error - file already exists: ${path}`);
        this.actions.set(path, { type: 'add', content: this.parseAdd() });
        continue;
      }
      throw new PatchError(`Unknown line while parsing: ${this.current()}`);
    }
    if (!stripCr(this.current()).startsWith(END)) throw new PatchError('Missing *** End Patch sentinel');
    this.index++;
  }

  private parseUpdate(text: string): PatchChunk[] {
    const file = text.split('\n');
    const chunks: PatchChunk[] = [];
    let cursor = 0;
    while (!this.atEnd([END, ...FILE_HEADERS, EOF_MARK])) {
      const anchor = this.take('@@ ');
      let bare = '';
      if (!anchor && stripCr(this.current()) === '@@') bare = this.lines[this.index++]!;
      if (!(anchor || bare || cursor === 0)) {
        throw new PatchError(`Invalid line in update section:\n${this.current()}`);
      }
      if (pyStrip(anchor)) cursor = this.moveToAnchor(file, anchor, cursor);

      const section = readSection(this.lines, this.index);
      const [at, fuzz] = findContext(file, section.context, cursor, section.eof);
      if (at === -1) {
        throw new PatchError(`Invalid ${section.eof ? 'EOF ' : ''}context at ${cursor}:\n${section.context.join('\n')}`);
      }
      this.fuzz += fuzz;
      for (const c of section.chunks) chunks.push({ ...c, origIndex: c.origIndex + at });
      cursor = at + section.context.length;
      this.index = section.end;
    }
    return chunks;
  }

  /** Moves the cursor past the anchor line, unless the anchor was already passed. A missing anchor is not an error. */
  private moveToAnchor(file: readonly string[], anchor: string, cursor: number): number {
    const before = file.slice(0, cursor);
    if (!before.includes(anchor)) {
      for (let i = cursor; i < file.length; i++) if (file[i] === anchor) return i + 1;
    }
    const stripped = pyStrip(anchor);
    if (!before.some((s) => pyStrip(s) === stripped)) {
      for (let i = cursor; i < file.length; i++) {
        if (pyStrip(file[i]!) === stripped) {
          this.fuzz += 1;
          return i + 1;
        }
      }
    }
    return cursor;
  }

  private parseAdd(): string {
    const out: string[] = [];
    while (!this.atEnd([END, ...FILE_HEADERS])) {
      const line = this.lines[this.index++]!;
      if (!line.startsWith('+')) throw new PatchError(`Invalid Add File line (missing '+'): ${line}`);
      out.push(line.slice(1));
    }
    return out.join('\n');
  }
}

/**
 * Parses patch text against the current contents of the files it updates or deletes (`files`, keyed by the paths
 * exactly as written in the patch). Pure; throws {@link PatchError} with the seed's messages.
 */
export function parsePatch(text: string, files: ReadonlyMap<string, string>): ParsedPatch {
  const lines = pySplitlines(text);
  if (lines.length < 2 || !stripCr(lines[0]!).startsWith(BEGIN) || stripCr(lines[lines.length - 1]!) !== END) {
    throw new PatchError('Invalid patch text - missing sentinels');
  }
  return parseLines(lines, files);
}

/** @internal The parser after the sentinel check (lets tests reach errors the sentinel check normally prevents). */
export function parseLines(lines: readonly string[], files: ReadonlyMap<string, string>): ParsedPatch {
  const parser = new Parser(lines, files);
  parser.parse();
  return { actions: parser.actions, fuzz: parser.fuzz };
}
