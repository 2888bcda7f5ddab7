import { describe, expect, test } from 'vitest';
import { O200K_PATTERN_SOURCE } from '../src/tokenizer/pattern.js';
import { pretokenize } from '../src/tokenizer/index.js';
import { mixedText, rng } from './fixtures/tokenizer/mixed-text.js';

// The ASCII fast path of the pre-tokeniser must split exactly like the o200k regex.
const byRegex = (s: string): string[] => s.match(new RegExp(O200K_PATTERN_SOURCE, 'gu')) ?? [];

describe('pretokenize matches the o200k regex', () => {
  test('on 1 MB of mixed text', () => {
    const text = mixedText(1_000_000, 11);
    expect(pretokenize(text)).toEqual(byRegex(text));
  });

  test('on random strings over an alphabet of every character class boundary', () => {
    // Letters of both cases, contraction letters, digits, every ASCII whitespace, punctuation incl. ' and /,
    // and non-ASCII letters/digits/spaces/marks/symbols that force the regex path next to ASCII.
    const alphabet = [
      'a', 'b', 's', 't', 'r', 'e', 'v', 'l', 'm', 'd', 'S', 'T', 'R', 'E', 'V', 'L', 'M', 'D', 'X', 'q', '0', '7',
      ' ', ' ', '\t', '\n', '\r', '\v', '\f', "'", "'", '/', '.', '-', '<', '|', '\u0000', '\u001f', '\u007f',
      'é', 'ſ', 'ǅ', '\u0301', '٣', '²', '\u00a0', '\u0085', '\u2028', '\u3000', '\ufeff', '日', '😀', '\ud800', '—',
    ];
    const r = rng(5);
    for (let i = 0; i < 20000; i++) {
      const len = 1 + Math.floor(r() * 12);
      let s = '';
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(r() * alphabet.length)];
      expect(pretokenize(s), JSON.stringify(s)).toEqual(byRegex(s));
    }
  });

  test('on random ASCII strings', () => {
    const r = rng(6);
    for (let i = 0; i < 20000; i++) {
      const len = 1 + Math.floor(r() * 16);
      let s = '';
      for (let k = 0; k < len; k++) s += String.fromCharCode(Math.floor(r() * 128));
      expect(pretokenize(s), JSON.stringify(s)).toEqual(byRegex(s));
    }
  });
});
