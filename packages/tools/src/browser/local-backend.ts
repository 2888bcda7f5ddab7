import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import MarkdownIt from 'markdown-it';
import { searchResultsPage, splitViewSource, viewSourcePage } from './backend.js';
import type { BackendCallOptions, BrowserBackend } from './backend.js';
import { BrowserBackendError } from './errors.js';
import { stripLinks } from './find.js';
import { LocalIndex, summarize } from './local-index.js';
import type { PageContents } from './page-contents.js';
import { processHtml, processPlainText } from './process-html.js';
import { fetchWebPage } from './web-fetch.js';
import type { WebFetchOptions } from './web-fetch.js';

/** Options of {@link LocalBackend}. */
export interface LocalBackendOptions extends WebFetchOptions {
  /** Folder of `.html`/`.htm`/`.md`/`.markdown`/`.txt` documents to search (recursively). Without it, search fails. */
  root?: string;
  /** URL prefix under which the documents appear to the model. Default `docs://local/`. */
  baseUrl?: string;
  /** Allow `open` of http(s) URLs (links on local pages, URLs the model types). Default true. */
  allowWeb?: boolean;
  /** Most documents indexed. Default 10 000. */
  maxFiles?: number;
  /** Largest document indexed or opened, in bytes. Default 5 MiB. */
  maxFileBytes?: number;
  /** `sources=` value shown to the model. Default `web` (the value the model was trained with). */
  source?: string;
}

const DOC_EXTENSIONS = new Set(['.html', '.htm', '.md', '.markdown', '.txt', '.text']);

const markdown = new MarkdownIt({ html: true, linkify: true });

function cleanTitle(t: string): string {
  return t.replace(/\s+/g, ' ').trim();
}

/**
 * A keyless backend: full-text search (BM25, MiniSearch) over a folder of HTML, Markdown and text documents, which
 * open as `docs://local/<path>`, plus direct fetching of http(s) pages with timeouts, a size cap and private
 * addresses refused. The index is built on the first search; call {@link LocalBackend.refresh} after the folder
 * changes. Opened documents are read fresh from disk, confined to the folder.
 *
 * @example
 * ```ts
 * const browser = new BrowserTool({ backend: new LocalBackend({ root: './docs' }) });
 * ```
 */
export class LocalBackend implements BrowserBackend {
  readonly source: string;
  readonly baseUrl: string;
  private readonly root: string | undefined;
  private readonly opts: LocalBackendOptions;
  private index: Promise<LocalIndex> | undefined;

  constructor(opts: LocalBackendOptions = {}) {
    this.opts = opts;
    this.source = opts.source ?? 'web';
    this.root = opts.root === undefined ? undefined : path.resolve(opts.root);
    const base = opts.baseUrl ?? 'docs://local/';
    this.baseUrl = base.endsWith('/') ? base : `${base}/`;
  }

  /** Forgets the index; the next search re-reads the folder. */
  refresh(): void {
    this.index = undefined;
  }

  async search(query: string, topn: number, _opts?: BackendCallOptions): Promise<PageContents> {
    const index = await this.getIndex();
    const hits = index.search(query, topn).map(({ doc, terms }) => ({
      title: doc.title,
      url: doc.url,
      summary: summarize(doc.text, terms.length ? terms : query.split(/\s+/)),
    }));
    return searchResultsPage(query, hits);
  }

  async fetch(rawUrl: string, opts?: BackendCallOptions): Promise<PageContents> {
    const { url, viewSource } = splitViewSource(rawUrl);
    if (url.startsWith(this.baseUrl) || url === this.baseUrl.slice(0, -1)) {
      const file = await this.resolveDoc(url);
      if ((await stat(file)).isDirectory()) return this.folderPage(file, url);
      const source = await this.readDoc(file);
      if (viewSource) return viewSourcePage(url, path.basename(file), source);
      return this.render(file, url, source);
    }
    if (/^https?:\/\//i.test(url)) {
      if (this.opts.allowWeb === false) throw new BrowserBackendError('fetching web pages is turned off (allowWeb: false)');
      return fetchWebPage(url, viewSource, { ...this.opts, signal: opts?.signal });
    }
    throw new BrowserBackendError(
      `cannot open ${JSON.stringify(url)}: expected an http(s) URL or a document under ${this.baseUrl}`,
    );
  }

  private getIndex(): Promise<LocalIndex> {
    this.index ??= this.buildIndex().catch((e: unknown) => {
      this.index = undefined;
      throw e;
    });
    return this.index;
  }

  private async buildIndex(): Promise<LocalIndex> {
    if (this.root === undefined) {
      throw new BrowserBackendError('no document folder configured; pass { root } to LocalBackend to enable search');
    }
    const index = new LocalIndex();
    const maxFiles = this.opts.maxFiles ?? 10_000;
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (files.length >= maxFiles) return;
        if (e.name.startsWith('.') || e.name === 'node_modules') continue;
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && DOC_EXTENSIONS.has(path.extname(e.name).toLowerCase())) files.push(full);
      }
    };
    try {
      await walk(this.root);
    } catch (e) {
      throw new BrowserBackendError(
        `the document folder ${this.root} cannot be read (${e instanceof Error ? e.message : String(e)}); check LocalBackend's root`,
        { cause: e },
      );
    }
    let id = 0;
    for (const file of files) {
      let source: string;
      try {
        source = await this.readDoc(file);
      } catch {
        continue; // too large or unreadable: not searchable, still reported when opened
      }
      const url = this.urlOf(file);
      const page = this.render(file, url, source);
      // Summaries quote this text: leave out the URL line and heading marks.
      const text = stripLinks(page.text).replace(/^\nURL: [^\n]*\n/, '').replace(/^#{1,6} /gm, '');
      index.add({ id: id++, url, title: page.title, text });
    }
    return index;
  }

  private urlOf(file: string): string {
    const rel = path.relative(this.root!, file).split(path.sep).map(encodeURIComponent).join('/');
    return this.baseUrl + rel;
  }

  private async resolveDoc(url: string): Promise<string> {
    if (this.root === undefined) throw new BrowserBackendError(`no document folder configured for ${this.baseUrl}`);
    const rel = url.slice(this.baseUrl.length).replace(/[?#].*$/s, '').replace(/\/+$/, '');
    let segments: string[];
    try {
      segments = rel.split('/').map(decodeURIComponent);
    } catch {
      throw new BrowserBackendError(`malformed document path in ${url}`);
    }
    if (segments.some((s) => s === '..' || s.includes('\0') || s.includes('\\'))) {
      throw new BrowserBackendError(`document path ${JSON.stringify(rel)} leaves the document folder`);
    }
    const file = path.resolve(this.root, ...segments);
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([realpath(file), realpath(this.root)]);
    } catch {
      throw new BrowserBackendError(`no document at ${url}`);
    }
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      throw new BrowserBackendError(`document ${JSON.stringify(rel)} leaves the document folder (symlink)`);
    }
    const st = await stat(real);
    if (!st.isFile() && !st.isDirectory()) throw new BrowserBackendError(`${url} is not a document`);
    return real;
  }

  /** A folder opens as a list of its documents and subfolders, so the model can browse without searching. */
  private async folderPage(dir: string, url: string): Promise<PageContents> {
    const realRoot = await realpath(this.root!);
    const rel = path.relative(realRoot, dir).split(path.sep).join('/');
    const entries = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || DOC_EXTENSIONS.has(path.extname(e.name).toLowerCase())))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const folderUrl = this.baseUrl + (rel ? `${rel.split('/').map(encodeURIComponent).join('/')}/` : '');
    const escape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&#39;');
    const items = entries
      .map((e) => {
        const name = e.isDirectory() ? `${e.name}/` : e.name;
        return `<li><a href='${escape(folderUrl + encodeURIComponent(e.name) + (e.isDirectory() ? '/' : ''))}'>${escape(name)}</a></li>`;
      })
      .join('');
    const title = `Index of /${rel ? `${rel}/` : ''}`;
    return processHtml(`<h1>${escape(title)}</h1><ul>${items}</ul>`, url, { title, displayUrls: true });
  }

  private async readDoc(file: string): Promise<string> {
    const max = this.opts.maxFileBytes ?? 5 * 1024 * 1024;
    const st = await stat(file);
    if (st.size > max) throw new BrowserBackendError(`${path.basename(file)} is ${st.size} bytes, over the ${max}-byte limit`);
    return readFile(file, 'utf8');
  }

  private render(file: string, url: string, source: string): PageContents {
    const ext = path.extname(file).toLowerCase();
    const fallbackTitle = path.basename(file);
    if (ext === '.txt' || ext === '.text') return processPlainText(source, url, fallbackTitle);
    const html = ext === '.md' || ext === '.markdown' ? markdown.render(source) : source;
    const page = processHtml(html, url, { displayUrls: true });
    const hasTitleTag = /<title[\s>]/i.test(html);
    let title = hasTitleTag ? cleanTitle(page.title) : '';
    if (!title) {
      const heading = /^#{1,6} (.+)$/m.exec(stripLinks(page.text));
      title = heading ? cleanTitle(heading[1]) : fallbackTitle;
    }
    return { ...page, title };
  }
}
