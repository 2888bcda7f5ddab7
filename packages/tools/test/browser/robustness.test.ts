// Whatever the page or the call, the browser answers with a reply: no throw out of process(), no hang.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { BrowserTool } from '../../src/browser/browser-tool.js';
import { LocalBackend } from '../../src/browser/local-backend.js';
import { processHtml } from '../../src/browser/process-html.js';
import { wrapLines } from '../../src/browser/text-wrap.js';
import { browserCall, FixtureBackend, PAGES } from './helpers.js';

// Deterministic pseudo-random source (mulberry32).
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '<p>', '</p>', '<div>', '</div>', '<a href="/x">', '<a href="https://e.example/">', '</a>', '<ul>', '<li>', '</ul>',
  '<ol start="x">', '<pre>', '</pre>', '<table><tr><td>', '</td></tr>', '<img alt="i">', '<br>', '<math>', '</math>',
  '<sup>', '</sup>', '<script>', '</script>', '<!--', '-->', '<blockquote>', '</blockquote>', '&amp;', '&#xD800;',
  '【1†x】', '†', '◼', '\u200b', '😀', 'word', ' ', '\n', '\t', 'テキスト', '<', '>', '"', "'", '<h2>', '</h2>', '<abbr title=t>',
];

describe('fuzz', () => {
  test('processHtml and wrapping never throw on broken markup', () => {
    const r = rng(1);
    for (let i = 0; i < 300; i++) {
      let html = '';
      const n = Math.floor(r() * 60);
      for (let k = 0; k < n; k++) html += PIECES[Math.floor(r() * PIECES.length)];
      const page = processHtml(html, r() < 0.5 ? '' : 'https://site.example/a/b');
      expect(page.text).not.toMatch(/[\u{10000}-\u{1FFFF}]/u);
      for (const line of wrapLines(page.text)) expect([...line].length).toBeLessThanOrEqual(80);
    }
  });

  test('random calls always get exactly one reply on the caller channel', async () => {
    const r = rng(2);
    const values: unknown[] = [-1, 0, 1, 2, 99, -7, 1.5, '0', 'https://nowhere.example/', PAGES.news.url, null, true, [], {}, 'x'];
    const keys = ['id', 'cursor', 'loc', 'num_lines', 'view_source', 'source', 'query', 'pattern', 'topn', 'bogus'];
    const tool = new BrowserTool({ backend: new FixtureBackend() });
    for (let i = 0; i < 200; i++) {
      const fn = ['search', 'open', 'find', 'open', 'open', 'nope'][Math.floor(r() * 6)];
      const args: Record<string, unknown> = {};
      for (const k of keys) if (r() < 0.25) args[k] = values[Math.floor(r() * values.length)];
      if (fn === 'search' && r() < 0.8) args.query = 'q';
      if (fn === 'find' && r() < 0.8) args.pattern = 'the';
      const replies = [];
      for await (const m of tool.process(browserCall(fn, args, 'analysis'))) replies.push(m);
      expect(replies).toHaveLength(1);
      expect(replies[0].channel).toBe('analysis');
      expect(replies[0].text.length).toBeGreaterThan(0);
    }
  });
});

test('an aborted call ends promptly with a reply saying so', async () => {
  const server = createServer(() => undefined); // never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hang`;
    const tool = new BrowserTool({ backend: new LocalBackend({ allowPrivateHosts: true, timeoutMs: 30_000 }) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const replies = [];
    for await (const m of tool.process(browserCall('open', { id: url }), { signal: controller.signal })) replies.push(m);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(replies.map((m) => m.text)).toEqual([`Error fetching URL \`${url}\`: GET ${url}: aborted by the caller.`]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
