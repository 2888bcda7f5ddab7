// The o200k pre-tokenisation pattern (SPEC §3.1), rewritten for JavaScript engines.
//
// Why `\s` is spelled out: tiktoken's Rust regex engine defines `\s` as the Unicode White_Space property, while
// JavaScript's `\s` also matches U+FEFF (BOM) and does not match U+0085 (NEL). Using JS `\s` would split text
// containing those characters differently from tiktoken.
//
// Why `'[sSſ]`: the original uses `(?i:'s|'t|…)`, and Node 20 has no regex modifiers. Unicode simple case folding
// maps U+017F (long s) to `s`, and tiktoken's engine applies it, so `'ſ` counts as a contraction. No other letter in
// the contractions has a non-ASCII fold partner.
//
// Why some code points are excluded from \p{L}, \p{N} and \p{M}: `\p{…}` follows the JS engine's Unicode version.
// tiktoken's regex tables (tiktoken 1.0.22, like the Rust harmony library) are Unicode 16.0, where the characters
// added in Unicode 17.0 are unassigned, i.e. neither letters, digits nor marks. Engines with Unicode 17 data
// (Node 20.20 has it) would otherwise split text containing them differently. Engines older than Unicode 16 still
// differ on the Unicode 16 additions; nothing short of shipping property tables fixes that.

/** Unicode White_Space, as a character-class body. */
export const WHITESPACE_CLASS = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';

/**
 * Letters, digits and marks added in Unicode 17.0 (found by comparing every code point's pre-tokenisation with
 * tiktoken's; see test/tokenizer-unicode.test.ts). Inclusive ranges.
 */
export const UNICODE_17_ADDITIONS: readonly (readonly [number, number])[] = [
  [0x088f, 0x088f], [0x0c5c, 0x0c5c], [0x0cdc, 0x0cdc], [0x1acf, 0x1add], [0x1ae0, 0x1aeb], [0xa7ce, 0xa7cf],
  [0xa7d2, 0xa7d2], [0xa7d4, 0xa7d4], [0xa7f1, 0xa7f1],
  [0x10940, 0x10959], [0x10ec5, 0x10ec7], [0x10efa, 0x10efb], [0x11b60, 0x11b67], [0x11db0, 0x11ddb],
  [0x11de0, 0x11de9], [0x16ea0, 0x16eb8], [0x16ebb, 0x16ed3], [0x16ff2, 0x16ff6], [0x187f8, 0x187ff],
  [0x18d09, 0x18d1e], [0x18d80, 0x18df2], [0x1e6c0, 0x1e6de], [0x1e6e0, 0x1e6f5], [0x1e6fe, 0x1e6ff],
  [0x2b73a, 0x2b73f], [0x2cea2, 0x2cead], [0x323b0, 0x33479],
];

const hex = (c: number): string => `\\u{${c.toString(16)}}`;
const NEW = `[${UNICODE_17_ADDITIONS.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`;

const WS = WHITESPACE_CLASS;
const CONTRACTION = "(?:'[sS\\u017F]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?";
const PREFIX = `(?:[^\\r\\n\\p{L}\\p{N}]|${NEW})`; // [^\r\n\p{L}\p{N}]
const UPPER = `(?:(?!${NEW})[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}])`; // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
const LOWER = `(?:(?!${NEW})[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}])`; // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
const NUMBER = `(?:(?!${NEW})\\p{N})`; // \p{N}
const PUNCT = `(?:[^${WS}\\p{L}\\p{N}]|${NEW})`; // [^\s\p{L}\p{N}]

export const O200K_PATTERN_SOURCE = [
  `${PREFIX}?${UPPER}*${LOWER}+${CONTRACTION}`,
  `${PREFIX}?${UPPER}+${LOWER}*${CONTRACTION}`,
  `${NUMBER}{1,3}`,
  ` ?${PUNCT}+[\\r\\n/]*`,
  `[${WS}]*[\\r\\n]+`,
  `[${WS}]+(?![^${WS}])`,
  `[${WS}]+`,
].join('|');
