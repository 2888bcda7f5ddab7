import { BrowserUsageError } from './errors.js';
import type { PageExtract, PageContents } from './page-contents.js';

/** JSON form of the browser state, key-compatible with the reference's `SimpleBrowserState.model_dump()`. */
export interface BrowserStateJSON {
  pages: Record<
    string,
    {
      url: string;
      text: string;
      title: string;
      urls: Record<string, string>;
      snippets?: Record<string, { url: string; text: string; title: string; line_idx?: number | null }> | null;
      error_message?: string | null;
    }
  >;
  page_stack: string[];
}

/**
 * The pages seen in one conversation: a cache `url → page` and the stack of visits. A page's cursor is its index
 * in the stack; every view pushes, so cursors only grow.
 */
export class BrowserState {
  readonly pages = new Map<string, PageContents>();
  readonly pageStack: string[] = [];

  get currentCursor(): number {
    return this.pageStack.length - 1;
  }

  addPage(page: PageContents): void {
    this.pages.set(page.url, page);
    this.pageStack.push(page.url);
  }

  /** The page at `cursor` (-1 = current; other negative values count from the end, as Python indexing does). */
  getPage(cursor: unknown = -1): PageContents {
    if (this.currentCursor < 0) throw new BrowserUsageError('No pages to access!');
    if (cursor === -1 || cursor === this.currentCursor) return this.pages.get(this.pageStack[this.pageStack.length - 1])!;
    if (typeof cursor !== 'number' || !Number.isInteger(cursor)) {
      throw new BrowserUsageError(`\`cursor\` should be an integer, not \`${pyTypeName(cursor)}\``);
    }
    const i = cursor < 0 ? this.pageStack.length + cursor : cursor;
    if (i < 0 || i >= this.pageStack.length) {
      throw new BrowserUsageError(
        `Cursor \`${cursor}\` is out of range. Available cursor indices: [0 - ${this.currentCursor}].`,
      );
    }
    return this.pages.get(this.pageStack[i])!;
  }

  getPageByUrl(url: string): PageContents | undefined {
    return this.pages.get(url);
  }

  popPageStack(): void {
    this.pageStack.pop();
  }

  toJSON(): BrowserStateJSON {
    const pages: BrowserStateJSON['pages'] = {};
    for (const [url, p] of this.pages) {
      let snippets: Record<string, { url: string; text: string; title: string; line_idx: number | null }> | null = null;
      if (p.snippets) {
        snippets = {};
        for (const [k, s] of Object.entries(p.snippets)) {
          snippets[k] = { url: s.url, text: s.text, title: s.title, line_idx: s.lineIdx ?? null };
        }
      }
      pages[url] = { url: p.url, text: p.text, title: p.title, urls: { ...p.urls }, snippets, error_message: p.errorMessage ?? null };
    }
    return { pages, page_stack: [...this.pageStack] };
  }

  static fromJSON(json: BrowserStateJSON): BrowserState {
    const state = new BrowserState();
    for (const [url, p] of Object.entries(json.pages ?? {})) {
      let snippets: Record<string, PageExtract> | undefined;
      if (p.snippets) {
        snippets = {};
        for (const [k, s] of Object.entries(p.snippets)) {
          snippets[k] = { url: s.url, text: s.text, title: s.title, ...(typeof s.line_idx === 'number' ? { lineIdx: s.line_idx } : {}) };
        }
      }
      state.pages.set(url, {
        url: p.url,
        text: p.text,
        title: p.title,
        urls: { ...p.urls },
        ...(snippets ? { snippets } : {}),
        ...(p.error_message ? { errorMessage: p.error_message } : {}),
      });
    }
    for (const url of json.page_stack ?? []) {
      if (!state.pages.has(url)) throw new BrowserUsageError(`Browser state: page_stack names ${url}, which is not in pages.`);
      state.pageStack.push(url);
    }
    return state;
  }
}

/** Python's type name of a JSON value, for messages that mirror the reference's wording. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}
