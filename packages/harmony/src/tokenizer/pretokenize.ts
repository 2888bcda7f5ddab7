// Pre-tokenisation: splits text into the pieces the o200k pattern (pattern.ts) matches, in order.
//
// Running the Unicode regex once per piece was the largest single cost of encoding, so pieces are found by a
// hand-written scanner that implements the same alternation over a per-code-unit class table. The table is built
// from the same regex engine's Unicode properties (one 256-character block at a time, on first use) with
// pattern.ts's Unicode 17 exclusions applied, so scanner and regex cannot disagree about what is a letter.
// Characters outside the Basic Multilingual Plane (surrogates: emoji, supplementary ideographs) hand the piece to
// the sticky regex instead, except where such a character simply ends a whitespace run. The equality tests against
// the regex and against tiktoken pin the two paths together.
import { O200K_PATTERN_SOURCE, UNICODE_17_ADDITIONS, WHITESPACE_CLASS } from './pattern.js';

const OTHER = 0; // not a letter, digit, mark or whitespace: punctuation, symbols, controls
const LOWER = 1; // Ll
const UPPER = 2; // Lu Lt
const CASELESS = 3; // Lm Lo: in both letter runs of the pattern
const MARK = 4; // M: in both letter runs, but not \p{L} (so also a valid prefix and "punctuation")
const DIGIT = 5; // N
const NEWLINE = 6; // \r \n
const SPACE = 7; // ' ' (the optional prefix of the punctuation alternative)
const WS = 8; // other White_Space
const SLOW = 9; // surrogate: classify with the regex
const UNKNOWN = 15; // block not built yet

const IN_UPPER_RUN = (1 << UPPER) | (1 << CASELESS) | (1 << MARK); // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
const IN_LOWER_RUN = (1 << LOWER) | (1 << CASELESS) | (1 << MARK); // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
const IN_PUNCT_RUN = (1 << OTHER) | (1 << MARK); // [^\s\p{L}\p{N}]
const IN_WS_RUN = (1 << NEWLINE) | (1 << SPACE) | (1 << WS); // \s

const classes = new Uint8Array(65536).fill(UNKNOWN);
classes.fill(SLOW, 0xd800, 0xe000);

const BLOCK_PROPERTIES: readonly [RegExp, number][] = [
  [/\p{Ll}+/gu, LOWER],
  [/[\p{Lu}\p{Lt}]+/gu, UPPER],
  [/[\p{Lm}\p{Lo}]+/gu, CASELESS],
  [/\p{M}+/gu, MARK],
  [/\p{N}+/gu, DIGIT],
  [new RegExp(`[${WHITESPACE_CLASS}]+`, 'gu'), WS],
];
const blockCodes = new Array<number>(256);

function buildBlock(c: number): number {
  const base = c & 0xff00;
  for (let k = 0; k < 256; k++) blockCodes[k] = base + k;
  const s = String.fromCharCode.apply(null, blockCodes);
  classes.fill(OTHER, base, base + 256);
  for (const [re, cls] of BLOCK_PROPERTIES) {
    re.lastIndex = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) classes.fill(cls, base + m.index, base + m.index + m[0].length);
  }
  for (const [a, b] of UNICODE_17_ADDITIONS) {
    if (a < base + 256 && b >= base) classes.fill(OTHER, Math.max(a, base), Math.min(b, base + 255) + 1);
  }
  if (base === 0) {
    classes[10] = NEWLINE;
    classes[13] = NEWLINE;
    classes[32] = SPACE;
  }
  return classes[c];
}
buildBlock(0);

/** Class of the code unit at `k` (`k < text.length`). */
function classAt(text: string, k: number): number {
  const c = text.charCodeAt(k);
  const x = classes[c];
  return x === UNKNOWN ? buildBlock(c) : x;
}

const sticky = new RegExp(O200K_PATTERN_SOURCE, 'uy');

/** End of the piece starting at `i`, by the regex. Every position starts a match: the alternation covers all text. */
function slowEnd(text: string, i: number): number {
  sticky.lastIndex = i;
  const m = sticky.exec(text);
  return i + m![0].length;
}

const FAIL = -1;
const NEEDS_REGEX = -2;

/** End (exclusive) of the pre-tokeniser piece that starts at `i` (`i < text.length`). */
export function pieceEnd(text: string, i: number): number {
  const n = text.length;
  const c = classAt(text, i);
  if (c === SLOW) return slowEnd(text, i);
  if (c === LOWER || c === UPPER || c === CASELESS) {
    // Alternatives 1 and 2 without the prefix (a letter cannot be the prefix).
    let e = lettersWithLowercase(text, i, n);
    if (e === FAIL) e = lettersUppercase(text, i, n);
    return e === NEEDS_REGEX ? slowEnd(text, i) : e;
  }
  if (c === DIGIT) {
    // \p{N}{1,3}
    let j = i + 1;
    for (; j < i + 3 && j < n; j++) {
      const d = classAt(text, j);
      if (d === SLOW) return slowEnd(text, i);
      if (d !== DIGIT) break;
    }
    return j;
  }
  if (c !== NEWLINE) {
    // OTHER, MARK, SPACE, WS: first try them as the optional prefix of alternatives 1 and 2, in the regex's order:
    // alt 1 with prefix, alt 1 without (only a mark can start it), alt 2 with prefix (alt 2 without is unreachable).
    let e = lettersWithLowercase(text, i + 1, n);
    if (e === FAIL && c === MARK) e = lettersWithLowercase(text, i, n);
    if (e === FAIL) e = lettersUppercase(text, i + 1, n);
    if (e === NEEDS_REGEX) return slowEnd(text, i);
    if (e !== FAIL) return e;
    // Alternative 4: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`.
    if (c === OTHER || c === MARK) return punctuationEnd(text, i, i + 1, n);
    if (c === SPACE && i + 1 < n) {
      const d = classAt(text, i + 1);
      if (d === SLOW) return slowEnd(text, i);
      if (((1 << d) & IN_PUNCT_RUN) !== 0) return punctuationEnd(text, i, i + 2, n);
    }
  }
  return whitespaceEnd(text, i, n);
}

/**
 * Alternative 1 from `j` (after any prefix): `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` then the
 * optional contraction, with the regex's backtracking: if no lowercase-run character follows the greedy upper
 * run, the run gives back characters up to its last one that is in both sets (Lm, Lo, M), which then forms the
 * lowercase run on its own.
 */
function lettersWithLowercase(text: string, j: number, n: number): number {
  let k = j;
  let lastBoth = -1;
  while (k < n) {
    const x = classAt(text, k);
    if (x === SLOW) return NEEDS_REGEX;
    if (((1 << x) & IN_UPPER_RUN) === 0) break;
    if (x !== UPPER) lastBoth = k;
    k++;
  }
  let l = k;
  while (l < n) {
    const x = classAt(text, l);
    if (x === SLOW) return NEEDS_REGEX;
    if (((1 << x) & IN_LOWER_RUN) === 0) break;
    l++;
  }
  if (l > k) return contractionEnd(text, l, n);
  if (lastBoth >= 0) return contractionEnd(text, lastBoth + 1, n);
  return FAIL;
}

/** Alternative 2 from `j`, when alternative 1 failed there: `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+` then the contraction. */
function lettersUppercase(text: string, j: number, n: number): number {
  let k = j;
  while (k < n) {
    const x = classAt(text, k);
    if (x === SLOW) return NEEDS_REGEX;
    if (((1 << x) & IN_UPPER_RUN) === 0) break;
    k++;
  }
  // Alternative 1 failed, so no lowercase-run character follows: `[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` is empty.
  return k > j ? contractionEnd(text, k, n) : FAIL;
}

/** `(?:'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?` at `e`. */
function contractionEnd(text: string, e: number, n: number): number {
  if (e + 1 >= n || text.charCodeAt(e) !== 39) return e;
  const x = text.charCodeAt(e + 1);
  // `| 0x20` lower-cases ASCII letters; no other code unit maps onto s t m d r v l e.
  const lx = x | 0x20;
  if (lx === 115 || lx === 116 || lx === 109 || lx === 100 || x === 0x17f) return e + 2; // s t m d ſ
  if (e + 2 < n) {
    const ly = text.charCodeAt(e + 2) | 0x20;
    if ((lx === 114 && ly === 101) || (lx === 118 && ly === 101) || (lx === 108 && ly === 108)) return e + 3; // re ve ll
  }
  return e;
}

/** `[^\s\p{L}\p{N}]+[\r\n/]*` for a piece starting at `i` whose punctuation run continues from `j`. */
function punctuationEnd(text: string, i: number, j: number, n: number): number {
  let e = j;
  while (e < n) {
    const x = classAt(text, e);
    if (x === SLOW) return slowEnd(text, i);
    if (((1 << x) & IN_PUNCT_RUN) === 0) break;
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
    // A surrogate is never White_Space, so it just ends the run.
    const x = classAt(text, e);
    if (((1 << x) & IN_WS_RUN) === 0) break;
    if (x === NEWLINE) lastNewline = e;
    e++;
  }
  if (lastNewline >= 0) return lastNewline + 1;
  if (e === n || e - i === 1) return e;
  return e - 1; // leave the last whitespace character to prefix the next piece
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
