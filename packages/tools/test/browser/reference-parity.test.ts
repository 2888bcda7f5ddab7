// Parity with the Python pieces the reference browser is built on, from fixtures those produced
// (see test/fixtures/browser/make-*.py).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { processHtml } from '../../src/browser/process-html.js';
import { wrapText } from '../../src/browser/text-wrap.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/browser/${name}`, import.meta.url), 'utf8'));

describe('textwrap.wrap(width=80, replace_whitespace=False, drop_whitespace=False)', () => {
  const cases = fixture('textwrap-cases.json') as { in: string; out: string[] }[];
  test(`${cases.length} generated lines wrap exactly like CPython`, () => {
    for (const c of cases) expect(wrapText(c.in, 80), JSON.stringify(c.in)).toEqual(c.out);
  });
});

describe('html2text stage', () => {
  const cases = fixture('html2text-cases.json') as { html: string; text: string }[];
  test.each(cases)('$html', ({ html, text }) => {
    expect(processHtml(html, '', { displayUrls: false }).text).toBe(text);
  });
});
