/** A quotable extract of a page: a search-result snippet or a `find` match (which remembers its line). */
export interface PageExtract {
  url: string;
  text: string;
  title: string;
  /** Line of the match in the source page (find results only). */
  lineIdx?: number;
}

/**
 * One page as the model sees it: the rendered text (with `【id†text】` link markers), its title, and the link map
 * `id → url`. Search and find result pages are pages too; find result pages also carry `snippets`.
 */
export interface PageContents {
  url: string;
  text: string;
  title: string;
  urls: Record<string, string>;
  snippets?: Record<string, PageExtract>;
  errorMessage?: string;
}

/** Prefix that asks a backend for the raw source of a page (`open({view_source: true})`). */
export const VIEW_SOURCE_PREFIX = 'view-source:';

/** Shortens `text` to `numChars` code points, ending in `...` (the reference's `maybe_truncate`). */
export function maybeTruncate(text: string, numChars = 1024): string {
  const chars = Array.from(text);
  if (chars.length > numChars) return chars.slice(0, numChars - 3).join('') + '...';
  return text;
}

/**
 * The host part of a URL (with port, as Python's `urlparse(...).netloc`). A bare domain is returned as is.
 * URLs with another scheme (`docs://local/…`) give their authority too.
 */
export function getDomain(url: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  if (m) return m[1];
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url) && !/^[^:]+:\d/.test(url)) return '';
  const bare = /^([^/?#]*)/.exec(url);
  return bare ? bare[1] : '';
}

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const lossyUtf8 = new TextDecoder('utf-8');

/** Python's `urllib.parse.unquote`: %-escapes decoded as UTF-8, invalid sequences become U+FFFD, never throws. */
export function unquote(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(PERCENT_RUN, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return lossyUtf8.decode(bytes);
  });
}

/** Python's `urllib.parse.quote(s)` with its default safe character `/`. */
export function quote(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
