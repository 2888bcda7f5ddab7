import { BrowserUsageError } from './errors.js';
import { maybeTruncate, unquote } from './page-contents.js';
import type { PageContents } from './page-contents.js';
import { joinLines, pyLen, wrappedPageLines } from './text-wrap.js';

/** The part of a tokenizer the view needs; `@gptoss/harmony`'s `Tokenizer` satisfies it. */
export interface ViewTokenizer {
  encodeOrdinary(text: string): number[];
  decode(tokens: ArrayLike<number>): string;
  tokenToBytes?(id: number): Uint8Array;
}

// Per-token character lengths, as the reference computes them: the length of each token decoded on its own (a
// token holding part of a UTF-8 sequence decodes to U+FFFD and counts as such).
const tokenLengths = new WeakMap<ViewTokenizer, Map<number, number>>();

function tokenLength(tok: ViewTokenizer, id: number): number {
  let m = tokenLengths.get(tok);
  if (m === undefined) {
    m = new Map();
    tokenLengths.set(tok, m);
  }
  let n = m.get(id);
  if (n === undefined) {
    n = pyLen(tok.decode([id]));
    m.set(id, n);
  }
  return n;
}

// o200k tokens are at most 128 characters long; only a prefix of this many characters per wanted token is
// tokenised, which yields the same first tokens as the whole text.
const MAX_CHARS_PER_TOKEN = 128;

/** Code-point prefix of `s` of length `n`. */
function cpPrefix(s: string, n: number): string {
  if (s.length <= n) return s;
  let i = 0;
  let count = 0;
  while (i < s.length && count < n) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    count++;
  }
  return s.slice(0, i);
}

/**
 * End line (exclusive) of the view starting at `loc`. With `numLines > 0` it is just `loc + numLines`; otherwise as
 * many lines as fit in `viewTokens` tokens of the numbered text, the line containing token #`viewTokens` included.
 */
export function getEndLoc(
  loc: number,
  numLines: number,
  totalLines: number,
  lines: readonly string[],
  viewTokens: number,
  tokenizer: ViewTokenizer,
): number {
  let n = numLines;
  if (n <= 0) {
    // Only a prefix of the numbered text matters: whether it is longer than `viewTokens` characters, and its first
    // (viewTokens + 1) * MAX_CHARS_PER_TOKEN characters, which hold the first viewTokens + 1 tokens.
    const need = (viewTokens + 1) * MAX_CHARS_PER_TOKEN;
    let txt = '';
    let len = 0;
    for (let i = loc; i < lines.length && len <= need; i++) {
      const piece = `${i > loc ? '\n' : ''}L${i}: ${lines[i]}`;
      txt += piece;
      len += pyLen(piece);
    }
    if (len > viewTokens) {
      const prefix = cpPrefix(txt, need);
      const tokens = tokenizer.encodeOrdinary(prefix);
      if (tokens.length > viewTokens) {
        let endIdx = 0;
        for (let i = 0; i < viewTokens; i++) endIdx += tokenLength(tokenizer, tokens[i]);
        const head = cpPrefix(txt, endIdx);
        let nl = 0;
        for (let i = head.indexOf('\n'); i >= 0; i = head.indexOf('\n', i + 1)) nl++;
        n = nl + 1;
      } else {
        n = totalLines;
      }
    } else {
      n = totalLines;
    }
  }
  return Math.min(loc + n, totalLines);
}

/**
 * Renders the browsing display of `page` at `cursor` (SPEC §5.2 "Display"):
 * `[cursor] title (url)\n**viewing lines [a - b] of c**\n\nL{a}: …`.
 * Throws {@link BrowserUsageError} when `loc` is past the last line.
 */
export function renderPageView(
  page: PageContents,
  cursor: number,
  loc: number,
  numLines: number,
  viewTokens: number,
  tokenizer: ViewTokenizer,
): string {
  const lines = wrappedPageLines(page.text);
  const total = lines.length;
  if (loc >= total) {
    throw new BrowserUsageError(`Invalid location parameter: \`${loc}\`. Cannot exceed page maximum of ${total - 1}.`);
  }
  const end = getEndLoc(loc, numLines, total, lines, viewTokens, tokenizer);
  const body = joinLines(lines.slice(loc, end), true, loc);
  const shownUrl = maybeTruncate(unquote(page.url));
  let header = page.title;
  if (shownUrl) header += ` (${shownUrl})`;
  header += `\n**viewing lines [${loc} - ${end - 1}] of ${total - 1}**\n\n`;
  return `[${cursor}] ${header}${body}`;
}
