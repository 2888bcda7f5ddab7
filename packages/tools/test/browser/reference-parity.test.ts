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

// lxml builds the reference's tree with libxml2, which drops whitespace-only text unless it follows (or opens) an
// element of its "allowPCData" list; html2text and the tag-spacing regex then see different text. Expected values
// follow libxml2's areBlanks() (HTMLparser.c).
describe('libxml2 whitespace rules', () => {
  test.each([
    ['kept after inline elements', '<p><span>A.</span> <span>B</span></p>', 'A. B'],
    ['dropped after </section>', '<div><section>A.</section>\n<section>B</section></div>', 'A.B'],
    ['dropped after </tr>, so the spacing regex joins rows', '<table><tr><td>1</td></tr>\n<tr><td>2</td></tr></table>', '1   \n2'],
    ['kept after </td>', '<table><tr><td>a.</td> <td>b</td></tr></table>', 'a. b'],
    ['dropped after an <img>', '<div><img alt="x">\n<b>y</b></div>', '[Image 0: x]y'],
    ['dropped at the top level before anything', '\n\n<p>a</p>', 'a'],
    ['kept between top-level paragraphs (implied <body>)', '<p>a.</p> <p>b</p>', 'a.\n\nb'],
    ['<x/> is an empty element', '<p>a<span/>b</p><div/>c', 'a b \n\nc'],
    ['dropped directly in <html>', '<html> <head><title>t</title></head> <body><p>x</p></body> </html>', 'x'],
  ])('%s', (_name, html, text) => {
    expect(processHtml(html, '', { displayUrls: false }).text).toBe(text);
  });
});
