import { findAll, itertextJoined, parseHtml, replaceWithText } from './html-tree.js';
import type { HtmlElement, HtmlNode } from './html-tree.js';
import { renderTreeText } from './html-text.js';
import { getDomain } from './page-contents.js';
import type { PageContents } from './page-contents.js';

const SMP_RE = /[\u{10000}-\u{1FFFF}]/gu;
const SPECIAL_CHARS: Record<string, string> = { '【': '〖', '】': '〗', '◼': '◾', '\u200b': '' };
const SPECIAL_RE = /[【】◼\u200b]/g;
const WORD_END = /[\p{L}\p{N}_]$/u;
const WORD_START = /^[\p{L}\p{N}_]/u;
const SUP_SUB_TEXT = /^[\p{L}\p{N}_-]+$/u;

/**
 * Drops characters U+10000–U+1FFFF and replaces the characters the browser reserves for its own markup
 * (`【】` become `〖〗`, `◼` becomes `◾`, zero-width spaces are removed), so page text can never forge a link
 * marker or a citation.
 */
export function cleanPageChars(text: string): string {
  return text.replace(SMP_RE, '').replace(SPECIAL_RE, (c) => SPECIAL_CHARS[c] ?? c);
}

function mergeWhitespace(text: string): string {
  return text.replace(/\n/g, ' ').replace(/\s+/g, ' ');
}

/** Resolves `href` against the page URL the way Python's `urljoin` does for the cases pages contain. */
export function resolveUrl(base: string, href: string): string {
  // An absolute URL is kept verbatim (urljoin does not normalise it; WHATWG URL would, e.g. add a trailing `/`).
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(href)) return href;
  if (!base) return href;
  try {
    return new URL(href, base).href;
  } catch {
    return href;
  }
}

/** @internal Rewrites `<a href>` into link markers and returns the link map `id → url` (SPEC §5.2 step 3). */
export function cleanLinks(root: HtmlElement, pageUrl: string): Record<string, string> {
  const curDomain = getDomain(pageUrl);
  const urls: Record<string, string> = {};
  const ids = new Map<string, string>();
  const replacements = new Map<HtmlElement, string>();
  for (const a of findAll(root, (el) => el.tag === 'a' && el.attrs.href !== undefined)) {
    let link = a.attrs.href;
    if (link.startsWith('mailto:') || link.startsWith('javascript:')) continue;
    const text = mergeWhitespace(itertextJoined(a)).replace(/†/g, '‡');
    if (!text) continue; // an image-only link; the image is rendered on its own
    if (link.startsWith('#')) {
      replacements.set(a, text);
      continue;
    }
    link = resolveUrl(pageUrl, link);
    const domain = getDomain(link);
    if (!domain) continue;
    link = link.replace(/arxiv.org/g, 'ar5iv.org');
    let id = ids.get(link);
    if (id === undefined) {
      id = String(ids.size);
      urls[id] = link;
      ids.set(link, id);
    }
    replacements.set(a, domain === curDomain ? `【${id}†${text}】` : `【${id}†${text}†${domain}】`);
  }
  replaceWithText(root, replacements);
  return urls;
}

function replaceImages(root: HtmlElement): void {
  const replacements = new Map<HtmlElement, string>();
  for (const img of findAll(root, (el) => el.tag === 'img')) {
    const name = img.attrs.alt !== undefined ? img.attrs.alt : img.attrs.title;
    const n = replacements.size;
    replacements.set(img, name ? `[Image ${n}: ${name}]` : `[Image ${n}]`);
  }
  replaceWithText(root, replacements);
}

function removeMath(el: HtmlElement): void {
  // Unlike lxml's `remove`, the text after </math> is kept: dropping it loses sentence endings for no reason.
  const kept: HtmlNode[] = [];
  for (const c of el.children) {
    if (c.kind === 'element') {
      if (c.tag === 'math') continue;
      removeMath(c);
    }
    const last = kept[kept.length - 1];
    if (c.kind === 'text' && last !== undefined && last.kind === 'text') last.data += c.data;
    else kept.push(c);
  }
  el.children = kept;
}

function supSub(root: HtmlElement): void {
  const replacements = new Map<HtmlElement, string>();
  for (const el of findAll(root, (e) => e.tag === 'sup' || e.tag === 'sub')) {
    const only = el.children[0];
    if (el.children.length !== 1 || only.kind !== 'text' || !SUP_SUB_TEXT.test(only.data)) continue;
    replacements.set(el, el.tag === 'sup' ? `^{${only.data}}` : `_{${only.data}}`);
  }
  replaceWithText(root, replacements);
}

// `<td>a</td><td>b</td>` must not render as "ab": where only tags separate two word characters, a space goes
// before the tags (the reference does this with a regex over the serialised HTML).
function spaceBetweenTags(root: HtmlElement): void {
  let prev: { data: string } | undefined;
  const walk = (el: HtmlElement): void => {
    for (const c of el.children) {
      if (c.kind === 'text') {
        if (c.data === '') continue;
        if (prev !== undefined && WORD_END.test(prev.data) && WORD_START.test(c.data)) prev.data += ' ';
        prev = c;
      } else {
        walk(c);
      }
    }
  };
  walk(root);
}

function findTitle(root: HtmlElement): string | undefined {
  const [title] = findAll(root, (el) => el.tag === 'title');
  if (title === undefined) return undefined;
  const first = title.children[0];
  return first !== undefined && first.kind === 'text' ? first.data : '';
}

/** Options of {@link processHtml}. */
export interface ProcessHtmlOptions {
  /** Title to use instead of the page's `<title>` (backends pass the API's title). */
  title?: string | null;
  /** Prefix the text with `\nURL: {url}\n`, as both reference backends do. Default true. */
  displayUrls?: boolean;
}

/**
 * Converts an HTML page into what the model reads: text with `【id†text(†domain)】` link markers, `[Image n: alt]`
 * placeholders, html2text layout, and the link map (SPEC §5.2 "HTML → page text").
 *
 * @example
 * ```ts
 * const page = processHtml('<p>See <a href="/docs">the docs</a>.</p>', 'https://example.com/');
 * page.text; // "\nURL: https://example.com/\nSee 【0†the docs】."
 * page.urls; // { "0": "https://example.com/docs" }
 * ```
 */
export function processHtml(html: string, url: string, opts: ProcessHtmlOptions = {}): PageContents {
  const root = parseHtml(cleanPageChars(html));
  const pageTitle = findTitle(root);
  let title: string;
  if (opts.title) title = opts.title;
  else if (pageTitle !== undefined) title = pageTitle;
  else title = url ? getDomain(url) : '';

  const urls = cleanLinks(root, url);
  replaceImages(root);
  removeMath(root);
  supSub(root);
  spaceBetweenTags(root);
  let text = renderTreeText(root).trim();
  text = text.replace(/^\s+$/gm, '');
  text = text.replace(/\n(\s*\n)+/g, '\n\n');
  const prefix = opts.displayUrls === false ? '' : `\nURL: ${url}\n`;
  return { url, text: prefix + text, urls, title };
}

/**
 * Renders plain text (a `.txt` file, a `text/plain` response) as a page: the browser's reserved characters are
 * replaced and blank-line runs collapsed like HTML pages; there are no links.
 */
export function processPlainText(text: string, url: string, title: string, opts: { displayUrls?: boolean } = {}): PageContents {
  let body = cleanPageChars(text).replace(/\r\n?/g, '\n').trim();
  body = body.replace(/^\s+$/gm, '').replace(/\n(\s*\n)+/g, '\n\n');
  const prefix = opts.displayUrls === false ? '' : `\nURL: ${url}\n`;
  return { url, text: prefix + body, urls: {}, title };
}
