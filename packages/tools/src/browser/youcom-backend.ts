import { ApiBackend, asRecord, asText } from './api-backend.js';
import type { ApiBackendOptions } from './api-backend.js';
import { searchResultsPage, splitViewSource, viewSourcePage } from './backend.js';
import type { BackendCallOptions, BrowserBackend, SearchHit } from './backend.js';
import { BrowserBackendError } from './errors.js';
import { processHtml } from './process-html.js';
import type { PageContents } from './page-contents.js';

/**
 * You.com Search API client: `GET /v1/search?query&count` (web results, then news results) and
 * `POST /v1/contents {"urls":[url],"livecrawl_formats":"html"}`, authenticated with `x-api-key` from
 * `opts.apiKey` or `YDC_API_KEY`.
 *
 * @example
 * ```ts
 * const browser = new BrowserTool({ backend: new YouComBackend() }); // reads YDC_API_KEY
 * ```
 */
export class YouComBackend extends ApiBackend implements BrowserBackend {
  protected readonly className = 'YouComBackend';
  protected readonly envVar = 'YDC_API_KEY';

  constructor(opts: ApiBackendOptions = {}) {
    super('https://api.ydc-index.io', opts);
  }

  protected missingKeyMessage(): string {
    return 'You.com API key not provided. Get one at https://you.com/platform';
  }

  async search(query: string, topn: number, opts?: BackendCallOptions): Promise<PageContents> {
    const data = asRecord(await this.request('GET', '/v1/search', { query, count: topn }, opts));
    const results = asRecord(data.results);
    const hits: SearchHit[] = [];
    for (const r of Array.isArray(results.web) ? results.web : []) {
      const o = asRecord(r);
      hits.push({ title: asText(o.title) || asText(o.url), url: asText(o.url), summary: asText(o.snippets ?? o.description) });
    }
    for (const r of Array.isArray(results.news) ? results.news : []) {
      const o = asRecord(r);
      hits.push({ title: asText(o.title) || asText(o.url), url: asText(o.url), summary: asText(o.description) });
    }
    return searchResultsPage(query, hits);
  }

  async fetch(rawUrl: string, opts?: BackendCallOptions): Promise<PageContents> {
    const { url, viewSource } = splitViewSource(rawUrl);
    const data = await this.request('POST', '/v1/contents', { urls: [url], livecrawl_formats: 'html' }, opts);
    const first = Array.isArray(data) ? asRecord(data[0]) : undefined;
    if (first === undefined || !Array.isArray(data) || data.length === 0) {
      throw new BrowserBackendError(`No contents returned for ${url}`);
    }
    if (!('html' in first)) throw new BrowserBackendError(`No HTML returned for ${url}`);
    const html = asText(first.html);
    const title = asText(first.title);
    if (viewSource) return viewSourcePage(url, title, html);
    return processHtml(html, url, { title, displayUrls: true });
  }
}
