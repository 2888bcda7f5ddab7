import { get_encoding, type Tiktoken } from 'tiktoken';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getTokenizer } from '../src/tokenizer/index.js';
import { UNICODE_17_ADDITIONS } from '../src/tokenizer/pattern.js';

// Every code point, in contexts where its class decides the split (inside a word, after a space, before a
// contraction, between digits, after NBSP), must encode like tiktoken. This is what pins the Unicode version:
// JS engines follow their own Unicode data, tiktoken's tables are Unicode 16 (see pattern.ts).
let oracle: Tiktoken;
beforeAll(() => {
  oracle = get_encoding('o200k_base');
});
afterAll(() => oracle.free());

const tok = getTokenizer();
const contexts = (ch: string): string => `x${ch}y ${ch}'s A${ch}1${ch}2\u00a0${ch} \n`;

function blockText(block: number): string {
  let s = '';
  for (let c = block << 8; c < (block + 1) << 8; c++) s += contexts(String.fromCodePoint(c));
  return s;
}

function differing(block: number): string[] {
  const out: string[] = [];
  for (let c = block << 8; c < (block + 1) << 8; c++) {
    const t = contexts(String.fromCodePoint(c));
    if (tok.encodeOrdinary(t).join() !== Array.from(oracle.encode_ordinary(t)).join()) out.push(`U+${c.toString(16)}`);
  }
  return out;
}

test('every BMP code point splits and encodes like tiktoken', () => {
  for (let block = 0; block < 0x100; block++) {
    if (block >= 0xd8 && block <= 0xdf) continue; // surrogates
    const s = blockText(block);
    if (tok.encodeOrdinary(s).join() !== Array.from(oracle.encode_ordinary(s)).join()) {
      expect.fail(`block U+${(block << 8).toString(16)}: ${differing(block).join(' ')}`);
    }
  }
});

test('astral code points near the Unicode 17 additions, emoji and CJK extensions encode like tiktoken', () => {
  const blocks = new Set<number>([0x1f0, 0x1f3, 0x1f4, 0x1f6, 0x1f9, 0x1fa, 0x200, 0x2a6, 0x1d4, 0x1d7]);
  for (const [a, b] of UNICODE_17_ADDITIONS) {
    if (a < 0x10000) continue;
    for (let block = a >> 8; block <= b >> 8; block++) blocks.add(block);
  }
  for (const block of blocks) {
    const s = blockText(block);
    if (tok.encodeOrdinary(s).join() !== Array.from(oracle.encode_ordinary(s)).join()) {
      expect.fail(`block U+${(block << 8).toString(16)}: ${differing(block).join(' ')}`);
    }
  }
});
