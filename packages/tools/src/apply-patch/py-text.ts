// Python string semantics the patch algorithm depends on. The model's patches are matched the way the seed's
// Python matches them, so line splitting and whitespace stripping must agree with CPython exactly.

/** Characters for which Python's `str.isspace()` is true (what `strip()`/`rstrip()` remove). */
const PY_WHITESPACE = new Set(
  [
    '\t', '\n', '\v', '\f', '\r', ' ', '\x1c', '\x1d', '\x1e', '\x1f', '\x85', '\xa0', '\u1680',
    '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a',
    '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
  ],
);

/** Python `s.rstrip()`. */
export function pyRstrip(s: string): string {
  let end = s.length;
  while (end > 0 && PY_WHITESPACE.has(s[end - 1]!)) end--;
  return s.slice(0, end);
}

/** Python `s.lstrip()`. */
export function pyLstrip(s: string): string {
  let start = 0;
  while (start < s.length && PY_WHITESPACE.has(s[start]!)) start++;
  return s.slice(start);
}

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  let start = 0;
  while (start < s.length && PY_WHITESPACE.has(s[start]!)) start++;
  return pyRstrip(s.slice(start));
}

/** Line boundaries of Python's `str.splitlines()`; `\r\n` counts as one. */
const LINE_BREAKS = new Set(['\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029']);

/** Python `s.splitlines()` (no `keepends`): no trailing empty item, every Unicode line boundary splits. */
export function pySplitlines(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (LINE_BREAKS.has(c)) {
      out.push(s.slice(start, i));
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      start = i;
    } else {
      i++;
    }
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/** Python `repr(s)` for a str, as it appears in messages such as `No such file or directory: 'a.txt'`. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let body = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') body += '\\\\';
    else if (ch === quote) body += `\\${quote}`;
    else if (ch === '\n') body += '\\n';
    else if (ch === '\r') body += '\\r';
    else if (ch === '\t') body += '\\t';
    else if (cp < 0x20 || cp === 0x7f) body += `\\x${cp.toString(16).padStart(2, '0')}`;
    else body += ch;
  }
  return `${quote}${body}${quote}`;
}
