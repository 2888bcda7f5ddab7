import { get_encoding, type Tiktoken } from 'tiktoken';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GptossError, HarmonyDecodeError, HarmonyEncodeError } from '../src/errors.js';
import { bytePairEncodeLong, bytePairEncodeShort } from '../src/tokenizer/bpe.js';
import { getTokenizer, SpecialTokens, Tokenizer } from '../src/tokenizer/index.js';
import { loadVocab } from '../src/tokenizer/vocab.js';
import { mixedText, rng } from './fixtures/tokenizer/mixed-text.js';

// `tiktoken` (the WASM build of OpenAI's Rust tokenizer) is the oracle: o200k_base with the same ranks and pattern.
let oracle: Tiktoken;
beforeAll(() => {
  oracle = get_encoding('o200k_base');
});
afterAll(() => oracle.free());

const tok = getTokenizer();
const expectedOrdinary = (s: string): number[] => Array.from(oracle.encode_ordinary(s));

describe('o200k_base equality with tiktoken', () => {
  const text = mixedText(1_100_000, 1);

  test('the mixed text is over 1 MB and covers the hard cases', () => {
    expect(new TextEncoder().encode(text).length).toBeGreaterThan(1_000_000);
    for (const needle of ['\r\n', '\t', '👩‍💻', '👍🏽', "DON'T", "We'Re", "x'ſ", '日本語', 'مرحبا', 'שלום', 'नमस्ते', 'café', '\ufeff', '\u0085']) {
      expect(text.includes(needle), needle).toBe(true);
    }
    expect(/\d{50}/.test(text)).toBe(true);
  });

  test('1 MB of mixed text encodes token for token like tiktoken', () => {
    const ours = tok.encodeOrdinary(text);
    const theirs = expectedOrdinary(text);
    expect(ours.length).toBe(theirs.length);
    // Compare element by element first so a failure names the first differing position instead of a huge diff.
    let first = -1;
    for (let i = 0; i < ours.length; i++) {
      if (ours[i] !== theirs[i]) {
        first = i;
        break;
      }
    }
    if (first >= 0) {
      const ctx = (xs: number[]) => JSON.stringify(tok.decode(xs.slice(Math.max(0, first - 5), first + 5)));
      expect.fail(`first difference at token ${first}: ours ${ctx(ours)} vs tiktoken ${ctx(theirs)}`);
    }
    expect(tok.decode(ours)).toBe(text);
    expect(tok.decodeUtf8(ours)).toBe(text);
  });

  test('random slices encode like tiktoken (piece boundaries at every kind of position)', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const start = Math.floor(r() * (text.length - 400));
      const s = text.slice(start, start + 1 + Math.floor(r() * 300));
      expect(tok.encodeOrdinary(s), JSON.stringify(s)).toEqual(expectedOrdinary(s));
    }
  });

  test('a second seed, encoded in many small calls', () => {
    const other = mixedText(200_000, 2);
    for (const line of other.split('\n')) {
      expect(tok.encodeOrdinary(line)).toEqual(expectedOrdinary(line));
    }
  });

  test('edge cases', () => {
    const cases = [
      '', ' ', '\n', '\r\n', 'a', '  a', 'a  ', '\t\t\n  \n', '     x', '\n\n\n\n\n', ' \r\n \r\n ',
      "'s", "it's", "IT'S", "It'S", "they'Ve", "x'ſ", "x'ſſ", "I'M'S", "'''", "a'b'c'd",
      '1', '12', '123', '1234', '1234567890123', '١٢٣٤', 'x1y22z333', '0.000001', '1,234,567.89',
      '\ufeffBOM', 'a\u0085b', 'a \u0085 b', '\u00a0\u00a0x', 'x\u3000\u3000y', 'tab\tin\tline', 'x\u2028y',
      'e\u0301e\u0301', '\u0301\u0301abc', '🏻', '👍🏽👍🏽', '\u200d\u200d', 'ﬁ', 'ǅ', 'ǅungla', 'ABCdef', 'abcDEF',
      'x'.repeat(5000), ' '.repeat(5000), '!'.repeat(3000), 'ab'.repeat(2000), '日'.repeat(1000), '😀'.repeat(500),
      '<|start|>', '<|endoftext|>', '<|reserved_201088|>',
      '\u0000\u0001\u0002', '\x7f\x80\x9f', '\uffff\ufffd', '\ud83d', 'a\udc00b', '\udbff\udfff',
    ];
    for (const s of cases) expect(tok.encodeOrdinary(s), JSON.stringify(s)).toEqual(expectedOrdinary(s));
  });

  test('long single pieces (heap merge) encode like tiktoken', () => {
    const r = rng(9);
    const letters = (alphabet: string, n: number) => {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      return s;
    };
    const cases = [
      letters('abcdefghijklmnopqrstuvwxyz', 3000), letters('aeiou', 2000), letters('ab', 2000),
      letters('日本語中文字', 1500), letters('가나다라마바사', 1500), 'ab'.repeat(1500), 'abc'.repeat(1000),
      letters('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 2000) + letters('abcdefghijklmnopqrstuvwxyz', 2000),
      '!@#$%^&*'.repeat(500), 'é'.repeat(1000), 'e\u0301'.repeat(500),
    ];
    for (const s of cases) expect(tok.encodeOrdinary(s)).toEqual(expectedOrdinary(s));
  });

  test('the scan merge and the heap merge agree on random byte strings', () => {
    const vocab = loadVocab();
    const r = rng(10);
    const text = mixedText(50_000, 12);
    const utf8 = new TextEncoder().encode(text);
    for (let i = 0; i < 3000; i++) {
      const n = 1 + Math.floor(r() * 120);
      let buf: Uint8Array;
      if (i % 2 === 0) {
        const start = Math.floor(r() * (utf8.length - n));
        buf = utf8.slice(start, start + n);
      } else {
        buf = new Uint8Array(n);
        for (let k = 0; k < n; k++) buf[k] = Math.floor(r() * 256);
      }
      const a: number[] = [];
      const b: number[] = [];
      bytePairEncodeShort(vocab, buf, n, a);
      bytePairEncodeLong(vocab, buf, n, b);
      expect(b).toEqual(a);
    }
  });

  test('SPEC §3.1 sanity ids', () => {
    expect(tok.encode('hello world')).toEqual([24912, 2375]);
    expect(tok.encodeOrdinary('<|start|>')).toEqual([27, 91, 5236, 91, 29]);
    expect(tok.encode('assistant')).toEqual([173781]);
    expect(tok.encode('analysis')).toEqual([35644]);
    expect(tok.encode('final')).toEqual([17196]);
    expect(tok.encode(' to')).toEqual([316]);
    expect(tok.encode('=')).toEqual([28]);
    expect(tok.encode(' code')).toEqual([3490]);
  });
});

describe('round trips', () => {
  test('decode(encode(x)) === x for well-formed strings; lone surrogates become U+FFFD', () => {
    const r = rng(3);
    for (let i = 0; i < 300; i++) {
      const s = mixedText(200 + Math.floor(r() * 2000), 100 + i);
      expect(tok.decode(tok.encode(s, { allowedSpecial: 'all' }))).toBe(s);
      expect(tok.decodeUtf8(tok.encodeOrdinary(s))).toBe(s);
    }
    expect(tok.decode(tok.encode('a\ud800b'))).toBe('a\ufffdb');
  });

  test('every ordinary token round-trips through tokenToBytes and decodeBytes', () => {
    const ids = [0, 1, 255, 1000, 24912, 199997];
    const bytes = tok.decodeBytes(ids);
    let off = 0;
    for (const id of ids) {
      const b = tok.tokenToBytes(id);
      expect(bytes.subarray(off, off + b.length)).toEqual(b);
      expect(b).toEqual(new Uint8Array(oracle.decode_single_token_bytes(id)));
      off += b.length;
    }
    expect(off).toBe(bytes.length);
  });
});

describe('special tokens', () => {
  test('named ids', () => {
    expect(SpecialTokens).toEqual({
      START: 200006, END: 200007, MESSAGE: 200008, CHANNEL: 200005, CONSTRAIN: 200003, RETURN: 200002,
      CALL: 200012, STARTOFTEXT: 199998, ENDOFTEXT: 199999,
    });
    const names: Record<number, string> = {
      199998: '<|startoftext|>', 199999: '<|endoftext|>', 200002: '<|return|>', 200003: '<|constrain|>',
      200005: '<|channel|>', 200006: '<|start|>', 200007: '<|end|>', 200008: '<|message|>', 200012: '<|call|>',
      200000: '<|reserved_200000|>', 200001: '<|reserved_200001|>', 200004: '<|reserved_200004|>',
      200009: '<|reserved_200009|>', 200013: '<|reserved_200013|>', 200014: '<|reserved_200014|>',
      200018: '<|reserved_200018|>', 201087: '<|reserved_201087|>', 201088: '<|reserved_201088|>',
    };
    for (const [id, text] of Object.entries(names)) {
      expect(tok.decode([Number(id)])).toBe(text);
      expect(tok.decodeUtf8([Number(id)])).toBe(text);
      expect(tok.specialTokenId(text)).toBe(Number(id));
      expect(tok.specialTokenText(Number(id))).toBe(text);
      expect(tok.encode(text, { allowedSpecial: [text] })).toEqual([Number(id)]);
      expect(tok.encode(text, { allowedSpecial: 'all' })).toEqual([Number(id)]);
    }
  });

  test('isSpecial and vocabSize', () => {
    expect(tok.vocabSize).toBe(201088);
    expect(tok.isSpecial(199997)).toBe(false);
    expect(tok.isSpecial(199998)).toBe(true);
    expect(tok.isSpecial(200006)).toBe(true);
    expect(tok.isSpecial(201088)).toBe(true);
    expect(tok.isSpecial(201089)).toBe(false);
    expect(tok.isSpecial(0)).toBe(false);
    expect(tok.specialTokenText(5)).toBeUndefined();
    expect(tok.specialTokenId('<|refusal|>')).toBeUndefined();
  });

  test("encode('<|start|>') throws unless allowed", () => {
    expect(() => tok.encode('<|start|>')).toThrow(HarmonyEncodeError);
    expect(() => tok.encode('x <|end|> y', { allowedSpecial: ['<|start|>'] })).toThrow(/<\|end\|> \(id 200007\) at index 2/);
    try {
      tok.encode('<|reserved_200014|>');
      expect.fail('should throw');
    } catch (e) {
      expect(GptossError.isInstance(e)).toBe(true);
      expect((e as Error).name).toBe('HarmonyEncodeError');
    }
    expect(tok.encode('<|start|>', { allowedSpecial: new Set(['<|start|>']) })).toEqual([200006]);
    expect(tok.encodeOrdinary('<|start|>')).toEqual([27, 91, 5236, 91, 29]);
    // Look-alikes that are not registered special tokens are plain text.
    expect(tok.encode('<|refusal|> <|foo|> <|<|start|')).toEqual(expectedOrdinary('<|refusal|> <|foo|> <|<|start|'));
  });

  test('allowed specials split the text exactly where tiktoken splits it', () => {
    const s = 'hi<|start|>user<|message|>  hello<|end|>\n<|start|>assistant<|channel|>final<|message|>ok<|return|>';
    const theirs = Array.from(
      oracle.encode(s.replaceAll('<|start|>', '<|endoftext|>'), ['<|endoftext|>']),
    );
    const ours = tok.encode(s.replaceAll('<|start|>', '<|endoftext|>'), {
      allowedSpecial: ['<|endoftext|>', '<|message|>', '<|end|>', '<|channel|>', '<|return|>'],
    });
    // tiktoken's o200k_base only knows <|endoftext|>; compare the pieces around it.
    const pieces = s.replaceAll('<|start|>', '<|endoftext|>').split(/(<\|[a-z_]+\|>)/);
    const expected: number[] = [];
    for (const p of pieces) {
      if (p.length === 0) continue;
      const id = tok.specialTokenId(p);
      expected.push(...(id === undefined ? expectedOrdinary(p) : [id]));
    }
    expect(ours).toEqual(expected);
    expect(theirs.filter((t) => t === 199999).length).toBe(2);
  });
});

describe('decode errors', () => {
  test('decodeUtf8 throws on invalid UTF-8, naming the byte offset and token', () => {
    // "é" is C3 A9: its lead byte alone is a truncated sequence.
    const ab = tok.encode('ab');
    const lead = byteToken(0xc3);
    expect(() => tok.decodeUtf8([...ab, lead])).toThrow(HarmonyDecodeError);
    expect(() => tok.decodeUtf8([...ab, lead])).toThrow(`byte offset 2 (inside token ${lead} at index ${ab.length})`);
    expect(tok.decode([...ab, lead])).toBe('ab\ufffd');
    expect(() => tok.decodeUtf8([byteToken(0x80)])).toThrow(/byte offset 0/); // stray continuation byte
    expect(() => tok.decodeUtf8([byteToken(0xed), byteToken(0xa0), byteToken(0x80)])).toThrow(/byte offset 0/); // surrogate
    expect(() => tok.decodeUtf8([byteToken(0xc0), byteToken(0xaf)])).toThrow(/byte offset 0/); // overlong
    expect(tok.decodeUtf8([byteToken(0xc3), byteToken(0xa9)])).toBe('é');
    expect(tok.decodeUtf8([byteToken(0xef), byteToken(0xbb), byteToken(0xbf)])).toBe('\ufeff'); // BOM kept
  });

  test('unknown ids throw HarmonyDecodeError naming the id', () => {
    for (const bad of [-1, 201089, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => tok.decode([1, bad])).toThrow(HarmonyDecodeError);
      expect(() => tok.decodeUtf8([bad])).toThrow(`unknown token id ${String(bad)}`);
      expect(() => tok.tokenToBytes(bad)).toThrow(HarmonyDecodeError);
    }
    expect(() => tok.decodeBytes([5, 201089])).toThrow(/unknown token id 201089 at index 1/);
  });

  test('getTokenizer is a cached singleton', () => {
    expect(getTokenizer()).toBe(tok);
    expect(tok).toBeInstanceOf(Tokenizer);
  });
});

/** The id of the one-byte token for byte `b`. */
function byteToken(b: number): number {
  for (let id = 0; id < 1000; id++) {
    const bytes = tok.tokenToBytes(id);
    if (bytes.length === 1 && bytes[0] === b) return id;
  }
  throw new Error(`no single-byte token for ${b}`);
}
