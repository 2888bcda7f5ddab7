// Pre-tokenisation: splits text into the pieces the o200k pattern (pattern.ts) matches, in order.
//
// Running the Unicode regex once per piece is the largest single cost of encoding, so pieces made only of ASCII
// are found by a hand-written scanner that implements the same alternation for ASCII characters. Whenever the
// scanner would have to classify a non-ASCII character (a letter, digit, space or mark outside ASCII could change
// the piece), it hands that piece to the sticky regex instead. The equality tests against the regex and against
// tiktoken pin the two paths together.
import { O200K_PATTERN_SOURCE } from './pattern.js';

const OTHER = 0; // anything that is not a letter, digit or whitespace (punctuation, symbols, controls)
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const NEWLINE = 4; // \r \n
const SPACE = 5; // ' ' (the optional prefix of the punctuation alternative)
const WS = 6; // \t \v \f

const CLASS = (() => {
  const t = new Uint8Array(128);
  for (let c = 97; c <= 122; c++) t[c] = LOWER;
  for (let c = 65; c <= 90; c++) t[c] = UPPER;
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  t[10] = NEWLINE;
  t[13] = NEWLINE;
  t[32] = SPACE;
  t[9] = WS;
  t[11] = WS;
  t[12] = WS;
  return t;
})();

const sticky = new RegExp(O200K_PATTERN_SOURCE, 'uy');

/** End of the piece starting at `i`, by the regex. Every position starts a match: the alternation covers all text. */
function slowEnd(text: string, i: number): number {
  sticky.lastIndex = i;
  const m = sticky.exec(text);
  return i + m![0].length;
}

/** End (exclusive) of the pre-tokeniser piece that starts at `i` (`i < text.length`). */
export function pieceEnd(text: string, i: number): number {
  const n = text.length;
  const c = text.charCodeAt(i);
  if (c >= 128) return slowEnd(text, i);
  const k = CLASS[c];
  if (k === LOWER || k === UPPER) return lettersEnd(text, i, i, n);
  if (k === DIGIT) {
    // \p{N}{1,3}
    let j = i + 1;
    for (; j < i + 3 && j < n; j++) {
      const d = text.charCodeAt(j);
      if (d >= 128) return slowEnd(text, i);
      if (CLASS[d] !== DIGIT) break;
    }
    return j;
  }
  if (k === NEWLINE) return whitespaceEnd(text, i, n);
  // SPACE, WS or OTHER: may be the optional one-character prefix of a letters piece.
  if (i + 1 < n) {
    const d = text.charCodeAt(i + 1);
    if (d >= 128) return slowEnd(text, i);
    const kd = CLASS[d];
    if (kd === LOWER || kd === UPPER) return lettersEnd(text, i, i + 1, n);
    if (k === OTHER) return punctuationEnd(text, i, i + 1, n);
    if (k === SPACE && kd === OTHER) return punctuationEnd(text, i, i + 2, n);
    return whitespaceEnd(text, i, n);
  }
  return i + 1;
}

/** Letters piece starting at `i` whose letters start at `j`: uppercase run, lowercase run, optional contraction. */
function lettersEnd(text: string, i: number, j: number, n: number): number {
  let e = j;
  while (e < n) {
    const d = text.charCodeAt(e);
    if (d >= 128) return slowEnd(text, i);
    if (CLASS[d] !== UPPER) break;
    e++;
  }
  while (e < n) {
    const d = text.charCodeAt(e);
    if (d >= 128) return slowEnd(text, i);
    if (CLASS[d] !== LOWER) break;
    e++;
  }
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)? — a non-ASCII letter after the apostrophe may case-fold to one of these (ſ).
  if (e + 1 < n && text.charCodeAt(e) === 39) {
    const x = text.charCodeAt(e + 1);
    if (x >= 128) return slowEnd(text, i);
    const lx = x | 0x20;
    if (lx === 115 || lx === 116 || lx === 109 || lx === 100) return e + 2; // s t m d
    if (e + 2 < n) {
      const ly = text.charCodeAt(e + 2) | 0x20;
      if ((lx === 114 && ly === 101) || (lx === 118 && ly === 101) || (lx === 108 && ly === 108)) return e + 3; // re ve ll
    }
  }
  return e;
}

/** ` ?[^\s\p{L}\p{N}]+[\r\n/]*` for a piece starting at `i` whose punctuation run continues from `j`. */
function punctuationEnd(text: string, i: number, j: number, n: number): number {
  let e = j;
  while (e < n) {
    const d = text.charCodeAt(e);
    if (d >= 128) return slowEnd(text, i);
    if (CLASS[d] !== OTHER) break;
    e++;
  }
  while (e < n) {
    const d = text.charCodeAt(e);
    if (d !== 10 && d !== 13 && d !== 47) break;
    e++;
  }
  return e;
}

/** `\s*[\r\n]+`, then `\s+(?!\S)`, then `\s+`, for a whitespace run starting at `i`. */
function whitespaceEnd(text: string, i: number, n: number): number {
  let e = i;
  let lastNewline = -1;
  while (e < n) {
    const d = text.charCodeAt(e);
    if (d >= 128) return slowEnd(text, i);
    const k = CLASS[d];
    if (k === NEWLINE) lastNewline = e;
    else if (k !== SPACE && k !== WS) break;
    e++;
  }
  if (lastNewline >= 0) return lastNewline + 1;
  if (e === n || e - i === 1) return e;
  return e - 1; // leave the last space to prefix the next piece
}

/** The pieces of `text`, in order (for tests and tools; `Tokenizer` walks `pieceEnd` directly). */
export function pretokenize(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const j = pieceEnd(text, i);
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}
