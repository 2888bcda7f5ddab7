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
      'é', 'É', 'ſ', 'ǅ', 'ʰ', 'ー', 'א', '日', '\u0301', '\u093f', '\u20dd', '٣', '²', 'Ⅻ', '\u00a0', '\u0085',
      '\u2028', '\u3000', '\ufeff', '😀', '𠀀', '𝟘', '𝐀', '\ud800', '\udc00', '—', '«',
    ];
    const r = rng(5);
    for (let i = 0; i < 40000; i++) {
      const len = 1 + Math.floor(r() * 12);
      let s = '';
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(r() * alphabet.length)];
      expect(pretokenize(s), JSON.stringify(s)).toEqual(byRegex(s));
    }
  });

  test('on random strings of any BMP characters', () => {
    const r = rng(8);
    for (let i = 0; i < 20000; i++) {
      const len = 1 + Math.floor(r() * 10);
      let s = '';
      for (let k = 0; k < len; k++) s += String.fromCharCode(r() < 0.5 ? Math.floor(r() * 0x3000) : Math.floor(r() * 0x10000));
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
