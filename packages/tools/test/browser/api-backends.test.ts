// You.com and Exa clients against a local server that speaks their documented request/response shapes.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { BrowserTool } from '../../src/browser/browser-tool.js';
import { ExaBackend } from '../../src/browser/exa-backend.js';
import { YouComBackend } from '../../src/browser/youcom-backend.js';
import { call } from './helpers.js';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
/** Per-test override: answer the next request with this instead of the normal API behaviour. */
let override: ((req: Seen, res: ServerResponse) => void) | undefined;

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

function api(req: Seen, res: ServerResponse): void {
  if (req.headers['x-api-key'] !== 'test-key') return json(res, 401, { error: 'invalid api key' });
  const body = req.body as Record<string, unknown>;
  switch (`${req.method} ${req.path}`) {
    case 'GET /ydc/v1/search':
      return json(res, 200, {
        results: {
          web: [
            { title: 'Web Result 1', url: 'https://www.example.com/web1', snippets: ['Web Result 1 snippet', 'more'] },
            { title: 'Web Result 2', url: 'https://www.example.com/web2', snippets: 'Web Result 2 snippets' },
          ],
          news: [
            { title: 'News Result 1', url: 'https://www.example.com/news1', description: 'News Result 1 description' },
            { title: 'News Result 2', url: 'https://news.example.org/2', description: 'News <b>2</b> & more' },
          ],
        },
      });
    case 'POST /ydc/v1/contents': {
      const url = (body.urls as string[])[0];
      if (url.endsWith('/empty')) return json(res, 200, []);
      if (url.endsWith('/nohtml')) return json(res, 200, [{ url, title: 'T', markdown: '# x' }]);
      return json(res, 200, [{ title: 'Fetch Result 1', url, html: '<div>Fetch Result 1 text</div>' }]);
    }
    case 'POST /exa/search':
      return json(res, 200, {
        results: [
          { title: 'Result 1', url: 'https://www.example.com/1', summary: 'Result 1 summary' },
          { title: null, url: 'https://www.example.com/2', summary: 'Result 2 summary' },
        ],
      });
    case 'POST /exa/contents': {
      const url = (body.urls as string[])[0];
      if (url.endsWith('/empty')) return json(res, 200, { results: [] });
      return json(res, 200, {
        results: [{ title: 'Fetch Result 1', url, text: '<div>Fetch Result 1 text</div><p>See <a href="/next">next</a>.</p>' }],
      });
    }
    default:
      return json(res, 404, { error: `no route ${req.method} ${req.path}` });
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const raw = Buffer.concat(chunks).toString('utf8');
      const s: Seen = {
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      };
      seen.push(s);
      (override ?? api)(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  override = undefined;
});

const youcom = (opts = {}) => new YouComBackend({ apiKey: 'test-key', baseUrl: `${base}/ydc`, ...opts });
const exa = (opts = {}) => new ExaBackend({ apiKey: 'test-key', baseUrl: `${base}/exa`, ...opts });

describe('YouComBackend', () => {
  test('search: GET /v1/search?query&count with x-api-key; web then news results become link ids 0..3', async () => {
    const page = await youcom().search('test', 20);
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/ydc/v1/search', query: { query: 'test', count: '20' } });
    expect(seen[0].headers['x-api-key']).toBe('test-key');
    expect(seen[0].headers['user-agent']).toMatch(/^gpt-oss\//);
    expect(page.title).toBe('test');
    expect(page.url).toBe('');
    expect(page.urls).toEqual({
      '0': 'https://www.example.com/web1',
      '1': 'https://www.example.com/web2',
      '2': 'https://www.example.com/news1',
      '3': 'https://news.example.org/2',
    });
    expect(page.text).toMatchInlineSnapshot(`
      "
      URL: 
      # Search Results

        * 【0†Web Result 1†www.example.com】 Web Result 1 snippet more
        * 【1†Web Result 2†www.example.com】 Web Result 2 snippets
        * 【2†News Result 1†www.example.com】 News Result 1 description
        * 【3†News Result 2†news.example.org】 News <b>2</b> & more"
    `);
  });

  test('fetch: POST /v1/contents {"urls":[url],"livecrawl_formats":"html"} → data[0].html and title', async () => {
    const page = await youcom().fetch('https://www.example.com/fetch1');
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/ydc/v1/contents',
      body: { urls: ['https://www.example.com/fetch1'], livecrawl_formats: 'html' },
    });
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(page.title).toBe('Fetch Result 1');
    expect(page.text).toBe('\nURL: https://www.example.com/fetch1\nFetch Result 1 text');
  });

  test('fetch of view-source: strips the prefix for the API and shows the raw HTML', async () => {
    const page = await youcom().fetch('view-source:https://www.example.com/fetch1');
    expect((seen[0].body as { urls: string[] }).urls).toEqual(['https://www.example.com/fetch1']);
    expect(page).toMatchObject({
      url: 'view-source:https://www.example.com/fetch1',
      text: '\nURL: view-source:https://www.example.com/fetch1\n<div>Fetch Result 1 text</div>',
      urls: {},
    });
  });

  test('empty and HTML-less contents', async () => {
    await expect(youcom().fetch('https://a.example/empty')).rejects.toThrow('No contents returned for https://a.example/empty');
    await expect(youcom().fetch('https://a.example/nohtml')).rejects.toThrow('No HTML returned for https://a.example/nohtml');
  });

  test('error statuses carry the status and body', async () => {
    await expect(youcom({ apiKey: 'wrong' }).search('q', 5)).rejects.toThrow(
      'YouComBackend error 401: {"error":"invalid api key"}',
    );
  });

  test('missing key: YDC_API_KEY is read from the environment, with a hint when absent', async () => {
    const saved = process.env.YDC_API_KEY;
    try {
      delete process.env.YDC_API_KEY;
      const b = new YouComBackend({ baseUrl: `${base}/ydc` });
      await expect(b.search('q', 5)).rejects.toThrow('You.com API key not provided. Get one at https://you.com/platform');
      expect(seen).toHaveLength(0);
      process.env.YDC_API_KEY = 'test-key';
      await expect(b.search('q', 5)).resolves.toMatchObject({ title: 'q' });
    } finally {
      if (saved === undefined) delete process.env.YDC_API_KEY;
      else process.env.YDC_API_KEY = saved;
    }
  });
});

describe('ExaBackend', () => {
  test('search: POST /search {"query","numResults","contents":{"text":true,"summary":true}}', async () => {
    const page = await exa().search('test', 20);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/exa/search',
      body: { query: 'test', numResults: 20, contents: { text: true, summary: true } },
    });
    expect(seen[0].headers['x-api-key']).toBe('test-key');
    expect(page.title).toBe('test');
    expect(page.urls).toEqual({ '0': 'https://www.example.com/1', '1': 'https://www.example.com/2' });
    // A result without a title is listed under its URL rather than dropped.
    expect(page.text).toMatchInlineSnapshot(`
      "
      URL: 
      # Search Results

        * 【0†Result 1†www.example.com】 Result 1 summary
        * 【1†https://www.example.com/2†www.example.com】 Result 2 summary"
    `);
  });

  test('fetch: POST /contents {"urls":[url],"text":{"includeHtmlTags":true}} → results[0].text and title', async () => {
    const page = await exa().fetch('https://www.example.com/fetch1');
    expect(seen[0].body).toEqual({ urls: ['https://www.example.com/fetch1'], text: { includeHtmlTags: true } });
    expect(page.title).toBe('Fetch Result 1');
    // The space before the paragraph break is the reference's: only tags separate "text" and "See".
    expect(page.text).toBe('\nURL: https://www.example.com/fetch1\nFetch Result 1 text \n\nSee 【0†next】.');
    expect(page.urls).toEqual({ '0': 'https://www.example.com/next' });
    await expect(exa().fetch('https://a.example/empty')).rejects.toThrow('No contents returned for https://a.example/empty');
  });

  test('error status, timeout, size cap and a non-JSON body are errors that say what happened', async () => {
    override = (_req, res) => json(res, 500, 'upstream exploded');
    await expect(exa().search('q', 5)).rejects.toThrow('ExaBackend error 500: upstream exploded');

    override = () => undefined; // never answers
    await expect(exa({ timeoutMs: 150 }).search('q', 5)).rejects.toThrow('ExaBackend POST /search: no response within 150 ms.');

    override = (_req, res) => json(res, 200, { results: [], padding: 'x'.repeat(10_000) });
    await expect(exa({ maxBytes: 1000 }).search('q', 5)).rejects.toThrow(/more than the 1000-byte limit|larger than the 1000-byte limit/);

    override = (_req, res) => json(res, 200, '<html>not json</html>');
    await expect(exa().search('q', 5)).rejects.toThrow('ExaBackend POST /search: expected a JSON body');
  });

  test('missing key', async () => {
    const saved = process.env.EXA_API_KEY;
    delete process.env.EXA_API_KEY;
    try {
      await expect(new ExaBackend({ baseUrl: `${base}/exa` }).search('q', 1)).rejects.toThrow('Exa API key not provided');
    } finally {
      if (saved !== undefined) process.env.EXA_API_KEY = saved;
    }
  });

  test('connection refused', async () => {
    const b = new ExaBackend({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' });
    await expect(b.search('q', 1)).rejects.toThrow(/^ExaBackend POST \/search: fetch failed/);
  });
});

describe('through the browser tool', () => {
  test('search, open a result, and API errors shown to the model', async () => {
    const tool = new BrowserTool({ backend: youcom() });
    expect(await call(tool, 'search', { query: 'test' })).toContain('[0] test\n**viewing lines [0 - ');
    expect(await call(tool, 'open', { id: 0 })).toMatchInlineSnapshot(`
      "[1] Fetch Result 1 (https://www.example.com/web1)
      **viewing lines [0 - 2] of 2**

      L0: 
      L1: URL: https://www.example.com/web1
      L2: Fetch Result 1 text"
    `);
    const bad = new BrowserTool({ backend: youcom({ apiKey: 'wrong' }) });
    expect(await call(bad, 'search', { query: 'q' })).toBe(
      'Error during search for `q`: YouComBackend error 401: {"error":"invalid api key"}',
    );
    override = () => undefined;
    const slow = new BrowserTool({ backend: exa({ timeoutMs: 100 }) });
    expect(await call(slow, 'open', { id: 'https://www.example.com/x' })).toBe(
      'Error fetching URL `https://www.example.com/x`: ExaBackend POST /contents: no response within 100 ms.',
    );
  });
});
