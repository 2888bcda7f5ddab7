// The o200k pre-tokenisation pattern (SPEC §3.1), rewritten for engines without regex modifiers and without
// relying on JavaScript's own `\s`.
//
// Why `\s` is spelled out: tiktoken's Rust regex engine defines `\s` as the Unicode White_Space property, while
// JavaScript's `\s` also matches U+FEFF (BOM) and does not match U+0085 (NEL). Using JS `\s` would split text
// containing those characters differently from tiktoken.
//
// Why `'[sSſ]`: the original uses `(?i:'s|'t|…)`. Unicode simple case folding maps U+017F (long s) to `s`, and
// tiktoken's engine applies it, so `'ſ` counts as a contraction. No other letter in the contractions has a
// non-ASCII fold partner.
/** Unicode White_Space, as a character-class body. */
export const WHITESPACE_CLASS = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const WS = WHITESPACE_CLASS;
const CONTRACTION = "(?:'[sS\\u017F]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?";

export const O200K_PATTERN_SOURCE = [
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTION}`,
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTION}`,
  `\\p{N}{1,3}`,
  ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]*`,
  `[${WS}]*[\\r\\n]+`,
  `[${WS}]+(?![^${WS}])`,
  `[${WS}]+`,
].join('|');

/** A fresh global regex for the o200k pre-tokeniser (global regexes carry `lastIndex`, so do not share them). */
export function createPretokenizer(): RegExp {
  return new RegExp(O200K_PATTERN_SOURCE, 'gu');
}
