import { BrowserBackendError } from './errors.js';
import { cleanPageChars, processHtml } from './process-html.js';
import { VIEW_SOURCE_PREFIX } from './page-contents.js';
import type { PageContents } from './page-contents.js';

/** Per-call options passed by the browser to a backend. */
export interface BackendCallOptions {
  signal?: AbortSignal;
}

/**
 * Where the browser searches and fetches. `search` returns a results page whose link ids follow result order;
 * `fetch` returns a rendered page (a `view-source:` URL asks for the raw source).
 */
export interface BrowserBackend {
  /** Shown to the model as `sources=…` in the tool description (the reference's backends say `web`). */
  readonly source: string;
  search(query: string, topn: number, opts?: BackendCallOptions): Promise<PageContents>;
  fetch(url: string, opts?: BackendCallOptions): Promise<PageContents>;
}

/** One search hit, before rendering. */
export interface SearchHit {
  title: string;
  url: string;
  summary: string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/'/g, '&#39;');
}

/**
 * Renders search hits the way the reference backends do: a synthetic HTML page (`# Search Results` and one list
 * item `【i†title†domain】 summary` per hit) processed with url `""` and the query as title, so link ids `0..n-1`
 * follow result order. Titles and summaries are escaped as text (the reference pastes them in raw, which only
 * differs for text containing `<` or `&`).
 */
export function searchResultsPage(query: string, hits: readonly SearchHit[]): PageContents {
  const items = hits
    .map((h) => `<li><a href='${escapeAttr(h.url)}'>${escapeHtml(h.title)}</a> ${escapeHtml(h.summary)}</li>`)
    .join('');
  const html = `\n<html><body>\n<h1>Search Results</h1>\n<ul>\n${items}\n</ul>\n</body></html>\n`;
  return processHtml(html, '', { title: query, displayUrls: true });
}

/** Splits `view-source:` off a URL. */
export function splitViewSource(url: string): { url: string; viewSource: boolean } {
  if (url.startsWith(VIEW_SOURCE_PREFIX)) return { url: url.slice(VIEW_SOURCE_PREFIX.length), viewSource: true };
  return { url, viewSource: false };
}

/** A page showing raw source text (for `open({view_source: true})`): no link markers, the URL keeps its prefix. */
export function viewSourcePage(url: string, title: string, source: string): PageContents {
  const text = cleanPageChars(source).replace(/\r\n?/g, '\n');
  return { url: VIEW_SOURCE_PREFIX + url, title, text: `\nURL: ${VIEW_SOURCE_PREFIX}${url}\n${text}`, urls: {} };
}

/** Options shared by the HTTP backends. */
export interface HttpOptions {
  /** Milliseconds before a request is abandoned. Default 30 000. */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes. Default 10 MiB. */
  maxBytes?: number;
  /** `fetch` implementation (tests, proxies). Default: the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** `user-agent` header. Default `gpt-oss/0.0.8 (@gptoss/tools)`. */
  userAgent?: string;
}

/** @internal */
export const DEFAULT_USER_AGENT = 'gpt-oss/0.0.8 (@gptoss/tools)';

/** @internal Combines a caller's signal with a timeout; the reason tells which one fired. */
export function timeoutSignal(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** @internal Reads a response body up to `maxBytes`, cancelling the stream beyond it. */
export async function readCapped(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new BrowserBackendError(`${what}: the response is ${declared} bytes, more than the ${maxBytes}-byte limit.`);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BrowserBackendError(`${what}: the response is larger than the ${maxBytes}-byte limit.`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** @internal Turns an abort/timeout/network failure into a backend error that names the request. */
export function describeFetchError(e: unknown, what: string, timeoutMs: number, signal?: AbortSignal): Error {
  if (e instanceof BrowserBackendError) return e;
  if (signal?.aborted) return new BrowserBackendError(`${what}: aborted by the caller.`, { cause: e });
  const name = e instanceof Error ? e.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new BrowserBackendError(`${what}: no response within ${timeoutMs} ms.`, { cause: e });
  }
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
  const msg = e instanceof Error ? e.message : String(e);
  return new BrowserBackendError(`${what}: ${msg}${cause}`, { cause: e });
}
