// Line wrapping with the exact behaviour of Python's `textwrap.wrap(line, width, replace_whitespace=False,
// drop_whitespace=False)`, which the reference browser uses to cut pages into numbered lines. Line numbers are part
// of what the model cites (`【3†L12-L15】`), so a different wrapping rule would make citations point elsewhere.

// Python's textwrap only treats ASCII whitespace as breakable; NBSP and U+3000 stay inside words.
const WS = '[\\t\\n\\x0b\\x0c\\r ]';
const NWS = '[^\\t\\n\\x0b\\x0c\\r ]';
// Python's `\w` on str: letters, numbers and underscore (combining marks excluded).
const W = '[\\p{L}\\p{N}_]';
// textwrap's `word_punct` and `letter` (a word character that is not a decimal digit).
const WP = '[\\p{L}\\p{N}_!"\'&.,?]';
const LT = '[\\p{L}\\p{Nl}\\p{No}_]';

// A chunk is a whitespace run, an em-dash between words, or a word that may end after a hyphen inside a
// hyphenated word; the rules mirror textwrap's chunking so that break points agree.
const CHUNK_RE = new RegExp(
  `(${WS}+` +
    `|(?<=${WP})-{2,}(?=${W})` +
    `|${NWS}+?(?:-(?:(?<=${LT}{2}-)|(?<=${LT}-${LT}-))(?=${LT}-?${LT})|(?=${WS}|$)|(?<=${WP})(?=-{2,}${W})))`,
  'gu',
);

const SURROGATE_RE = /[\uD800-\uDFFF]/;

/** Length in code points (Python `len`). */
export function pyLen(s: string): number {
  if (!SURROGATE_RE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** `s[start:end]` in code points (Python slicing for non-negative indices). */
export function pySlice(s: string, start: number, end?: number): string {
  if (!SURROGATE_RE.test(s)) return s.slice(start, end);
  return Array.from(s).slice(start, end).join('');
}

/** Python `str.expandtabs(tabsize)`: tabs advance to the next multiple of `tabsize`; newlines reset the column. */
export function expandTabs(s: string, tabsize = 8): string {
  if (!s.includes('\t')) return s;
  let out = '';
  let col = 0;
  for (const ch of s) {
    if (ch === '\t') {
      const n = tabsize > 0 ? tabsize - (col % tabsize) : 0;
      out += ' '.repeat(n);
      col += n;
    } else if (ch === '\n' || ch === '\r') {
      out += ch;
      col = 0;
    } else {
      out += ch;
      col++;
    }
  }
  return out;
}

function splitChunks(text: string): string[] {
  const chunks: string[] = [];
  CHUNK_RE.lastIndex = 0;
  let last = 0;
  for (let m = CHUNK_RE.exec(text); m !== null; m = CHUNK_RE.exec(text)) {
    if (m.index > last) chunks.push(text.slice(last, m.index));
    if (m[0].length === 0) {
      CHUNK_RE.lastIndex++;
      continue;
    }
    chunks.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) chunks.push(text.slice(last));
  return chunks;
}

/**
 * Wraps one line like Python's `textwrap.wrap(text, width, replace_whitespace=False, drop_whitespace=False)`:
 * whitespace is kept, long words are broken (preferably after a hyphen), and lengths count code points.
 */
export function wrapText(text: string, width = 80): string[] {
  const chunks = splitChunks(expandTabs(text)).reverse();
  const lines: string[] = [];
  while (chunks.length > 0) {
    const cur: string[] = [];
    let curLen = 0;
    while (chunks.length > 0) {
      const l = pyLen(chunks[chunks.length - 1]);
      if (curLen + l <= width) {
        cur.push(chunks.pop()!);
        curLen += l;
      } else break;
    }
    if (chunks.length > 0 && pyLen(chunks[chunks.length - 1]) > width) {
      // A word longer than the line: cut it, at the last hyphen that fits when there is one.
      const spaceLeft = width < 1 ? 1 : width - curLen;
      const chunk = chunks[chunks.length - 1];
      let end = spaceLeft;
      if (pyLen(chunk) > spaceLeft) {
        const head = pySlice(chunk, 0, spaceLeft);
        const hyphen = head.lastIndexOf('-');
        if (hyphen > 0 && /[^-]/.test(head.slice(0, hyphen))) end = pyLen(head.slice(0, hyphen)) + 1;
      }
      cur.push(pySlice(chunk, 0, end));
      chunks[chunks.length - 1] = pySlice(chunk, end);
    }
    if (cur.length > 0) lines.push(cur.join(''));
  }
  return lines;
}

/** Splits page text into display lines: each non-empty line wrapped at `width`, empty lines kept (SPEC §5.2). */
export function wrapLines(text: string, width = 80): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') out.push('');
    else for (const w of wrapText(line, width)) out.push(w);
  }
  return out;
}

/** `L{n}: {line}` numbering with absolute line numbers starting at `offset`. */
export function joinLines(lines: readonly string[], addLineNumbers = false, offset = 0): string {
  if (!addLineNumbers) return lines.join('\n');
  return lines.map((line, i) => `L${i + offset}: ${line}`).join('\n');
}

// Views and `find` re-read the same pages; wrapping a large page costs tens of milliseconds, so the last few
// results are kept (keyed by the text itself, so an edited page is wrapped again).
const wrapCache = new Map<string, string[]>();
const WRAP_CACHE_SIZE = 4;

/** @internal {@link wrapLines} at width 80 with a small cache. The result must not be modified. */
export function wrappedPageLines(text: string): readonly string[] {
  let lines = wrapCache.get(text);
  if (lines === undefined) {
    lines = wrapLines(text);
    if (wrapCache.size >= WRAP_CACHE_SIZE) wrapCache.delete(wrapCache.keys().next().value as string);
    wrapCache.set(text, lines);
  }
  return lines;
}
