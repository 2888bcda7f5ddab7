import { HarmonyDecodeError, HarmonyEncodeError } from '../errors.js';
import { bytePairEncode } from './bpe.js';
import { pieceEnd } from './pretokenize.js';
import { FIRST_SPECIAL_ID, LAST_SPECIAL_ID, specialTokenIds, specialTokenText } from './special-tokens.js';
import { encodeUtf8Range, firstInvalidUtf8 } from './utf8.js';
import { loadVocab, O200K_BASE_RANK_COUNT, type Vocab } from './vocab.js';

export interface EncodeOptions {
  /**
   * Special-token texts (e.g. `'<|start|>'`) that may appear in the input and are encoded as their single special
   * id; `'all'` allows every special token. Any other special-token text in the input makes `encode` throw
   * `HarmonyEncodeError`. Use `encodeOrdinary` to encode special-token text as plain text instead.
   */
  allowedSpecial?: 'all' | Iterable<string>;
}

// Every special token's text looks like this; candidates are then checked against the special-token table.
const SPECIAL_CANDIDATE = /<\|[a-z0-9_]+\|>/g;

// Pieces that are not a single token and were byte-pair encoded before are looked up here instead of being merged
// again. Natural text repeats a small set of such pieces, so a bounded cache catches most of them; it is cleared
// when full. (Pieces that are one token skip the cache: the vocabulary lookup is as cheap as a Map lookup.)
const PIECE_CACHE_LIMIT = 1 << 16;

// `ignoreBOM`: a leading U+FEFF is text the model produced, not a byte-order mark to strip.
const lossyDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The o200k_harmony tokenizer: o200k_base BPE plus harmony's special tokens (ids 199998..201088). */
export class Tokenizer {
  /** Number of embedding rows of the model: ids 0..vocabSize-1. (`<|reserved_201088|>` decodes but is not a row.) */
  readonly vocabSize = 201088;

  readonly #vocab: Vocab;
  #buf = new Uint8Array(1024);
  readonly #specials: ReadonlyMap<string, number>;
  readonly #cache = new Map<string, number[]>();

  /**
   * Prefer the shared `getTokenizer()`. The vocabulary is decoded once per process and shared by every instance;
   * each instance only adds its own piece cache.
   */
  constructor() {
    this.#vocab = loadVocab();
    this.#specials = specialTokenIds();
  }

  /** Encodes `text`. Special-token text in it throws `HarmonyEncodeError` unless listed in `allowedSpecial`. */
  encode(text: string, opts?: EncodeOptions): number[] {
    const allowed = opts?.allowedSpecial;
    const allowAll = allowed === 'all';
    const allowedSet = allowAll || allowed === undefined ? undefined : new Set(allowed);
    const out: number[] = [];
    let from = 0;
    const re = SPECIAL_CANDIDATE;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const id = this.#specials.get(m[0]);
      if (id === undefined) continue;
      if (!allowAll && !allowedSet?.has(m[0])) {
        throw new HarmonyEncodeError(
          `encode: the text contains the special token ${m[0]} (id ${id}) at index ${m.index}, which is not allowed. ` +
            `Pass { allowedSpecial: ['${m[0]}'] } (or 'all') to encode it as one special token, or use ` +
            `encodeOrdinary to encode it as plain text.`,
        );
      }
      this.#encodeOrdinaryInto(text.slice(from, m.index), out);
      out.push(id);
      from = m.index + m[0].length;
    }
    this.#encodeOrdinaryInto(from === 0 ? text : text.slice(from), out);
    return out;
  }

  /** Encodes `text` as plain text: special-token text is split and byte-pair encoded like any other text. */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.#encodeOrdinaryInto(text, out);
    return out;
  }

  #encodeOrdinaryInto(text: string, out: number[]): void {
    const n = text.length;
    const vocab = this.#vocab;
    const byteIds = vocab.byteIds;
    const cache = this.#cache;
    let buf = this.#buf;
    for (let i = 0; i < n; ) {
      const j = pieceEnd(text, i);
      if (buf.length < (j - i) * 3) buf = this.#buf = new Uint8Array((j - i) * 3 + 64);
      const len = encodeUtf8Range(text, i, j, buf);
      const whole = len === 1 ? byteIds[buf[0]] : vocab.find(buf, 0, len);
      if (whole >= 0) {
        out.push(whole);
      } else {
        const piece = text.slice(i, j);
        const hit = cache.get(piece);
        if (hit !== undefined) {
          for (let k = 0; k < hit.length; k++) out.push(hit[k]);
        } else {
          const before = out.length;
          bytePairEncode(vocab, buf, len, out);
          if (cache.size >= PIECE_CACHE_LIMIT) cache.clear();
          cache.set(piece, out.slice(before));
        }
      }
      i = j;
    }
  }

  /** Decodes to a string; bytes that are not valid UTF-8 become U+FFFD. Throws `HarmonyDecodeError` on unknown ids. */
  decode(tokens: ArrayLike<number>): string {
    return lossyDecoder.decode(this.decodeBytes(tokens));
  }

  /** Decodes to a string; throws `HarmonyDecodeError` on unknown ids and on bytes that are not valid UTF-8. */
  decodeUtf8(tokens: ArrayLike<number>): string {
    const bytes = this.decodeBytes(tokens);
    try {
      return strictDecoder.decode(bytes);
    } catch (cause) {
      const bad = firstInvalidUtf8(bytes);
      let offset = 0;
      let index = 0;
      const offsets = this.#vocab.offsets;
      for (; index < tokens.length; index++) {
        const id = tokens[index];
        const len = offsets[id + 1] - offsets[id];
        if (offset + len > bad) break;
        offset += len;
      }
      throw new HarmonyDecodeError(
        `decodeUtf8: the tokens do not decode to valid UTF-8: the sequence starting at byte offset ${bad} ` +
          `(inside token ${tokens[index]} at index ${index}) is invalid or truncated. Decode a complete message, ` +
          `or use decode() to get U+FFFD for invalid bytes.`,
        { cause },
      );
    }
  }

  /** The concatenated bytes of `tokens`. Throws `HarmonyDecodeError` on unknown ids. */
  decodeBytes(tokens: ArrayLike<number>): Uint8Array {
    const { bytes, offsets, size } = this.#vocab;
    let total = 0;
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      if (!(id >= 0 && id < size && Number.isInteger(id))) throw unknownId(id, i);
      total += offsets[id + 1] - offsets[id];
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      const start = offsets[id];
      const end = offsets[id + 1];
      // Most tokens are a few bytes: a plain loop beats creating a subarray for `set`.
      if (end - start <= 16) for (let k = start; k < end; k++) out[o++] = bytes[k];
      else {
        out.set(bytes.subarray(start, end), o);
        o += end - start;
      }
    }
    return out;
  }

  /** The bytes of one token (a fresh copy). Throws `HarmonyDecodeError` on unknown ids. */
  tokenToBytes(id: number): Uint8Array {
    const { bytes, offsets, size } = this.#vocab;
    if (!(id >= 0 && id < size && Number.isInteger(id))) throw unknownId(id);
    return bytes.slice(offsets[id], offsets[id + 1]);
  }

  /** True for ids 199998..201088 (the named harmony tokens and the `<|reserved_N|>` ones). */
  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= FIRST_SPECIAL_ID && id <= LAST_SPECIAL_ID;
  }

  /** The id of a special token given its text (e.g. `'<|start|>'` → 200006), or `undefined`. */
  specialTokenId(text: string): number | undefined {
    return this.#specials.get(text);
  }

  /** The text of a special token (e.g. 200006 → `'<|start|>'`), or `undefined` if `id` is not special. */
  specialTokenText(id: number): string | undefined {
    return specialTokenText(id);
  }
}

function unknownId(id: number, index?: number): HarmonyDecodeError {
  const where = index === undefined ? '' : ` at index ${index}`;
  return new HarmonyDecodeError(
    `unknown token id ${String(id)}${where}: o200k_harmony ids are integers 0..${O200K_BASE_RANK_COUNT - 1} ` +
      `(BPE) and ${FIRST_SPECIAL_ID}..${LAST_SPECIAL_ID} (special).`,
  );
}

let singleton: Tokenizer | undefined;

/** The o200k_harmony tokenizer, built on first call (parses the ranks once) and shared afterwards. */
export function getTokenizer(): Tokenizer {
  singleton ??= new Tokenizer();
  return singleton;
}
