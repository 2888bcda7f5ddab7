import { ApiBackend, asRecord, asText } from './api-backend.js';
import type { ApiBackendOptions } from './api-backend.js';
import { searchResultsPage, splitViewSource, viewSourcePage } from './backend.js';
import type { BackendCallOptions, BrowserBackend, SearchHit } from './backend.js';
import { BrowserBackendError } from './errors.js';
import { processHtml } from './process-html.js';
import type { PageContents } from './page-contents.js';

/**
 * Exa API client: `POST /search {"query","numResults","contents":{"text":true,"summary":true}}` and
 * `POST /contents {"urls":[url],"text":{"includeHtmlTags":true}}`, authenticated with `x-api-key` from
 * `opts.apiKey` or `EXA_API_KEY`.
 *
 * @example
 * ```ts
 * const browser = new BrowserTool({ backend: new ExaBackend() }); // reads EXA_API_KEY
 * ```
 */
export class ExaBackend extends ApiBackend implements BrowserBackend {
  protected readonly className = 'ExaBackend';
  protected readonly envVar = 'EXA_API_KEY';

  constructor(opts: ApiBackendOptions = {}) {
    super('https://api.exa.ai', opts);
  }

  protected missingKeyMessage(): string {
    return 'Exa API key not provided';
  }

  async search(query: string, topn: number, opts?: BackendCallOptions): Promise<PageContents> {
    const data = asRecord(
      await this.request('POST', '/search', { query, numResults: topn, contents: { text: true, summary: true } }, opts),
    );
    const hits: SearchHit[] = [];
    for (const r of Array.isArray(data.results) ? data.results : []) {
      const o = asRecord(r);
      hits.push({ title: asText(o.title) || asText(o.url), url: asText(o.url), summary: asText(o.summary) });
    }
    return searchResultsPage(query, hits);
  }

  async fetch(rawUrl: string, opts?: BackendCallOptions): Promise<PageContents> {
    const { url, viewSource } = splitViewSource(rawUrl);
    const data = asRecord(await this.request('POST', '/contents', { urls: [url], text: { includeHtmlTags: true } }, opts));
    const results = Array.isArray(data.results) ? data.results : [];
    if (results.length === 0) throw new BrowserBackendError(`No contents returned for ${url}`);
    const first = asRecord(results[0]);
    const html = asText(first.text);
    const title = asText(first.title);
    if (viewSource) return viewSourcePage(url, title, html);
    return processHtml(html, url, { title, displayUrls: true });
  }
}
