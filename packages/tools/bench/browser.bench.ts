// Browser hot paths: HTML → page text, line wrapping, the token-budgeted view, find, and local search.
// Run: pnpm bench (vitest bench). Peer: bench/browser_peer.py times the reference's html2text stage on the same pages.
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getTokenizer } from '@gptoss/harmony';
import { bench, describe } from 'vitest';
import { findInPage } from '../src/browser/find.js';
import { LocalBackend } from '../src/browser/local-backend.js';
import { processHtml } from '../src/browser/process-html.js';
import { wrapLines } from '../src/browser/text-wrap.js';
import { renderPageView } from '../src/browser/view.js';
import { browserBenchPage } from './browser-synthetic.js';

const page = (name: string) =>
  readFileSync(new URL(`../test/fixtures/browser/pages/${name}`, import.meta.url), 'utf8');
const news = page('news-article.html');
const docs = page('docs-page.html');
const table = page('table-page.html');
const japanese = page('japanese-page.html');
const big = browserBenchPage();
const bigPage = processHtml(big, 'https://example.com/big');
const newsPage = processHtml(news, 'https://www.harborgazette.example/a');
const tokenizer = getTokenizer();

describe('processHtml', () => {
  bench('news article (4.5 kB)', () => void processHtml(news, 'https://www.harborgazette.example/a'));
  bench('docs page (3.1 kB)', () => void processHtml(docs, 'https://nodekit.dev/docs/streams.html'));
  bench('table page (3.2 kB)', () => void processHtml(table, 'https://encyclopedia.example/wiki/Lakes'));
  bench('japanese page (2.6 kB)', () => void processHtml(japanese, 'https://tabi-techo.example.jp/koyo/'));
  bench(`synthetic page (${(big.length / 1e6).toFixed(2)} MB)`, () => void processHtml(big, 'https://example.com/big'), {
    iterations: 5,
  });
});

describe('view', () => {
  bench('wrapLines, synthetic page', () => void wrapLines(bigPage.text), { iterations: 5 });
  bench('token-budgeted view (1024 tokens), news article', () =>
    void renderPageView(newsPage, 0, 0, -1, 1024, tokenizer),
  );
  bench('token-budgeted view (1024 tokens) at line 5000, synthetic page', () =>
    void renderPageView(bigPage, 0, 5000, -1, 1024, tokenizer),
  { iterations: 5 });
  bench('find, synthetic page', () => void findInPage('paragraph 4999', bigPage), { iterations: 5 });
});

describe('local search', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gptoss-browser-bench-'));
  const words = 'lake river mountain city council solar energy stream buffer worker config port server page build'.split(' ');
  for (let d = 0; d < 20; d++) {
    mkdirSync(path.join(dir, `d${d}`));
    for (let i = 0; i < 100; i++) {
      const body = Array.from({ length: 200 }, (_, k) => words[(d * 7 + i * 13 + k * 3) % words.length]).join(' ');
      writeFileSync(path.join(dir, `d${d}`, `doc${i}.md`), `# Document ${d}-${i}\n\n${body}\n`);
    }
  }
  const backend = new LocalBackend({ root: dir });
  bench('index 2,000 markdown docs (first search)', async () => {
    backend.refresh();
    await backend.search('solar council', 20);
  }, { iterations: 3 });
  bench('search 2,000 docs (warm index)', async () => void (await backend.search('mountain stream config', 20)));
});
