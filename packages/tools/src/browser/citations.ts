import { unquote } from './page-contents.js';

/** A `url_citation` annotation, shaped like the reference (and the Responses API) with snake_case keys. */
export interface UrlCitation {
  type: 'url_citation';
  /** Start of the replacement in the new text, in code points (Python string indices). */
  start_index: number;
  end_index: number;
  title: string;
  url: string;
}

/** Result of {@link normalizeCitations}. */
export interface NormalizedCitations {
  text: string;
  annotations: UrlCitation[];
  /** The text ends in an unfinished citation; streaming clients hold output back while this is true. */
  hasPartialCitations: boolean;
}

const PARTIAL_FINAL_CITATION = /【\d*(?:†[^†】]*(?:†[^†】]*)?)?(?=\n?$)/;
const CITATION = /【(\d+)†([^†】]+)(?:†[^†】]+)?】/g;

/** True when `text` ends in the beginning of a citation (`【`, `【3`, `【3†L1`, …) that a later delta may finish. */
export function hasPartialCitation(text: string): boolean {
  return PARTIAL_FINAL_CITATION.test(text);
}

function citationDomain(url: string): string {
  const parts = unquote(url).split('/');
  return parts.length > 2 ? parts[2] : url;
}

function cpLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/**
 * Rewrites the model's citations `【{cursor}†…】` into ` ([domain](url)) ` using the page visited at each cursor,
 * with one `url_citation` annotation per rewrite (SPEC §5.2 "Citation normalisation"). Citations whose cursor is
 * unknown or whose page has no URL (search results) are left as they are. With `hidePartial`, an unfinished
 * citation at the end is removed from the text.
 *
 * @example
 * ```ts
 * normalizeCitations('Tokyo is big【1†L3-L5】.', ['', 'https://en.wikipedia.org/wiki/Tokyo']).text;
 * // "Tokyo is big ([en.wikipedia.org](https://en.wikipedia.org/wiki/Tokyo)) ."
 * ```
 */
export function normalizeCitations(
  text: string,
  pageStack: readonly string[],
  opts: { hidePartial?: boolean } = {},
): NormalizedCitations {
  const hasPartialCitations = hasPartialCitation(text);
  let src = text;
  if (opts.hidePartial && hasPartialCitations) src = src.replace(PARTIAL_FINAL_CITATION, '');
  let out = '';
  let outLen = 0;
  let last = 0;
  const annotations: UrlCitation[] = [];
  CITATION.lastIndex = 0;
  for (let m = CITATION.exec(src); m !== null; m = CITATION.exec(src)) {
    const before = src.slice(last, m.index);
    out += before;
    outLen += cpLength(before);
    const cursor = Number(m[1]);
    const url = String(cursor) === m[1] && cursor < pageStack.length ? pageStack[cursor] : undefined;
    if (url) {
      const domain = citationDomain(url);
      const replacement = ` ([${domain}](${url})) `;
      const len = cpLength(replacement);
      annotations.push({ type: 'url_citation', start_index: outLen, end_index: outLen + len, title: domain, url });
      out += replacement;
      outLen += len;
    } else {
      out += m[0];
      outLen += cpLength(m[0]);
    }
    last = m.index + m[0].length;
  }
  out += src.slice(last);
  return { text: out, annotations, hasPartialCitations };
}

/** One step of {@link CitationStream}: text that may be shown now, and annotations seen for the first time. */
export interface CitationDelta {
  delta: string;
  annotations: UrlCitation[];
}

/**
 * Rewrites citations in streamed final-channel text, delta by delta, the way the reference Responses server does:
 * the whole text so far is normalised, text is held back while it ends in an unfinished citation, and each
 * annotation is reported once (indices refer to the whole normalised text, in code points).
 *
 * @example
 * ```ts
 * const stream = new CitationStream(() => browser.pageStack);
 * for (const piece of ['Tokyo【', '1†L3', '】 is big.']) send(stream.push(piece));
 * send(stream.end());
 * ```
 */
export class CitationStream {
  private emitted = '';
  private held = '';
  private readonly seen = new Set<number>();

  constructor(private readonly pageStack: () => readonly string[]) {}

  /** Everything returned as `delta` so far. */
  get text(): string {
    return this.emitted;
  }

  push(delta: string): CitationDelta {
    const r = normalizeCitations(this.emitted + this.held + delta, this.pageStack());
    const fresh = r.annotations.filter((a) => !this.seen.has(a.start_index));
    for (const a of fresh) this.seen.add(a.start_index);
    const rest = r.text.slice(this.emitted.length);
    if (r.hasPartialCitations) {
      this.held = rest;
      return { delta: '', annotations: fresh };
    }
    this.held = '';
    this.emitted += rest;
    return { delta: rest, annotations: fresh };
  }

  /** Releases text held back for an unfinished citation (shown as the model wrote it). */
  end(): CitationDelta {
    const rest = this.held;
    this.held = '';
    this.emitted += rest;
    return { delta: rest, annotations: [] };
  }
}
