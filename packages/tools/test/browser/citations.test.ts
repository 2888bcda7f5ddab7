import { describe, expect, test } from 'vitest';
import { CitationStream, hasPartialCitation, normalizeCitations } from '../../src/browser/citations.js';
import type { UrlCitation } from '../../src/browser/citations.js';

const STACK = ['', 'https://en.wikipedia.org/wiki/Tokyo', 'https://example.com/%E6%9D%B1%E4%BA%AC/page', 'nodomain'];

describe('normalizeCitations', () => {
  test.each([
    ['no citations', 'Plain text.', 'Plain text.', 0],
    ['one citation', 'Tokyo is big【1†L3-L5】.', 'Tokyo is big ([en.wikipedia.org](https://en.wikipedia.org/wiki/Tokyo)) .', 1],
    ['with a domain part', 'See【1†Tokyo†en.wikipedia.org】', 'See ([en.wikipedia.org](https://en.wikipedia.org/wiki/Tokyo)) ', 1],
    ['unknown cursor kept', 'x【9†L1】y', 'x【9†L1】y', 0],
    ['search page (url "") kept', 'x【0†L1】y', 'x【0†L1】y', 0],
    ['cursor with a leading zero is not cursor 1', 'x【01†L1】', 'x【01†L1】', 0],
    ['percent-encoded url: domain from the unquoted url', '【2†L1】', ' ([example.com](https://example.com/%E6%9D%B1%E4%BA%AC/page)) ', 1],
    ['url without slashes: the url is the title', '【3†L1】', ' ([nodomain](nodomain)) ', 1],
  ])('%s', (_name, input, text, n) => {
    const r = normalizeCitations(input, STACK);
    expect(r.text).toBe(text);
    expect(r.annotations).toHaveLength(n);
    for (const a of r.annotations) expect(r.text.slice(a.start_index, a.end_index)).toBe(` ([${a.title}](${a.url})) `);
  });

  test('indices count code points (Python string indices) and follow earlier replacements', () => {
    // '😀 東京' is 4 code points (5 UTF-16 units).
    const r = normalizeCitations('😀 東京【1†L1】 and【2†L2】', STACK);
    const first = ' ([en.wikipedia.org](https://en.wikipedia.org/wiki/Tokyo)) '.length;
    const second = ' ([example.com](https://example.com/%E6%9D%B1%E4%BA%AC/page)) '.length;
    expect(r.annotations.map((a) => [a.start_index, a.end_index])).toEqual([
      [4, 4 + first],
      [4 + first + 4, 4 + first + 4 + second],
    ]);
  });

  test('hidePartial drops an unfinished citation at the end and reports it', () => {
    expect(normalizeCitations('Done【1†L1】 and【1†L', STACK, { hidePartial: true })).toEqual({
      text: 'Done ([en.wikipedia.org](https://en.wikipedia.org/wiki/Tokyo))  and',
      annotations: [expect.objectContaining({ start_index: 4 })],
      hasPartialCitations: true,
    });
    expect(normalizeCitations('and【1†L', STACK).text).toBe('and【1†L');
  });
});

describe('hasPartialCitation (streaming hold-back)', () => {
  test.each([
    ['text', false],
    ['text【', true],
    ['text【12', true],
    ['text【12†', true],
    ['text【12†L3-L', true],
    ['text【12†L3†example', true],
    ['text【12†L3】', false],
    ['text【12†L3】 more', false],
    ['text【12†a†b†c', false],
    ['text【x', false],
    ['text【1\n', true],
  ])('%j → %s', (text, expected) => {
    expect(hasPartialCitation(text)).toBe(expected);
  });
});

describe('CitationStream', () => {
  const TEXT = 'Tokyo is big【1†L3-L5】, and 東京【2†L1】 too【9†L1】.【1';

  test.each([1, 2, 3, 7])('deltas of %i characters add up to the normalised text', (size) => {
    const stream = new CitationStream(() => STACK);
    let out = '';
    const annotations: UrlCitation[] = [];
    const chars = Array.from(TEXT);
    for (let i = 0; i < chars.length; i += size) {
      const step = stream.push(chars.slice(i, i + size).join(''));
      out += step.delta;
      annotations.push(...step.annotations);
      // Nothing shown ever ends inside a citation.
      expect(hasPartialCitation(out)).toBe(false);
    }
    out += stream.end().delta;
    const whole = normalizeCitations(TEXT, STACK);
    expect(out).toBe(whole.text);
    expect(stream.text).toBe(whole.text);
    expect(annotations).toEqual(whole.annotations);
  });

  test('text is held while a citation is unfinished', () => {
    const stream = new CitationStream(() => STACK);
    expect(stream.push('See ')).toEqual({ delta: 'See ', annotations: [] });
    expect(stream.push('【1†L')).toEqual({ delta: '', annotations: [] });
    const done = stream.push('2】!');
    expect(done.delta).toBe(' ([en.wikipedia.org](https://en.wikipedia.org/wiki/Tokyo)) !');
    expect(done.annotations).toEqual([expect.objectContaining({ start_index: 4, url: STACK[1] })]);
  });
});
