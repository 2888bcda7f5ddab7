// The o200k_harmony vocabulary in flat typed arrays: every token's bytes concatenated in id order, plus an
// open-addressing hash table from bytes to id. Looking a byte range up hashes and compares bytes in place, so the
// BPE loop allocates no strings; building this from the base64 ranks takes a fraction of the time a
// Map<string, number> of 200k entries does.
//
// o200k_base ranks are shipped inside js-tiktoken as a plain ES module holding one string,
// `! <first rank> <base64 token> <base64 token> …` (ranks consecutive from the first one; lines may repeat the
// header). See bench/RESULTS.md for why this package.
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { HarmonyError } from '../errors.js';
import { FIRST_SPECIAL_ID, LAST_SPECIAL_ID, specialTokenText } from './special-tokens.js';

/** Number of ordinary (BPE) tokens in o200k_base: ids 0..199997. */
export const O200K_BASE_RANK_COUNT = 199998;

const TABLE_BITS = 19; // 2^19 slots for 199998 keys: load 0.38, short probe chains
const EMPTY = -1;

export class Vocab {
  /** All token bytes, id order; token `id` is `bytes[offsets[id] .. offsets[id + 1])`. Covers specials too. */
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  /** Ids 0..size-1 are decodable. */
  readonly size: number;
  /** id of the one-byte token for each byte value. */
  readonly byteIds: Int32Array;
  /** id of the two-byte token `[b0, b1]` at `b0 << 8 | b1`, or -1: the first round of every merge, without hashing. */
  readonly pairIds: Int32Array;
  /** Length in bytes of the longest ordinary token: longer byte ranges are never looked up. */
  readonly maxTokenLength: number;
  readonly #table: Int32Array;
  readonly #mask: number;

  constructor(bytes: Uint8Array, offsets: Uint32Array, size: number, ordinaryCount: number) {
    this.bytes = bytes;
    this.offsets = offsets;
    this.size = size;
    const table = new Int32Array(1 << TABLE_BITS).fill(EMPTY);
    const mask = table.length - 1;
    for (let id = 0; id < ordinaryCount; id++) {
      let slot = hashBytes(bytes, offsets[id], offsets[id + 1]) & mask;
      while (table[slot] !== EMPTY) slot = (slot + 1) & mask;
      table[slot] = id;
    }
    this.#table = table;
    this.#mask = mask;
    const byteIds = new Int32Array(256);
    const one = new Uint8Array(1);
    for (let b = 0; b < 256; b++) {
      one[0] = b;
      byteIds[b] = this.find(one, 0, 1);
    }
    this.byteIds = byteIds;
    const pairIds = new Int32Array(65536).fill(-1);
    let maxTokenLength = 0;
    for (let id = 0; id < ordinaryCount; id++) {
      const o = offsets[id];
      const len = offsets[id + 1] - o;
      if (len === 2) pairIds[(bytes[o] << 8) | bytes[o + 1]] = id;
      if (len > maxTokenLength) maxTokenLength = len;
    }
    this.pairIds = pairIds;
    this.maxTokenLength = maxTokenLength;
  }

  /** The ordinary token whose bytes are exactly `buf[start, end)`, or -1. */
  find(buf: Uint8Array, start: number, end: number): number {
    const table = this.#table;
    const mask = this.#mask;
    const bytes = this.bytes;
    const offsets = this.offsets;
    const len = end - start;
    if (len > this.maxTokenLength) return -1;
    let slot = hashBytes(buf, start, end) & mask;
    for (;;) {
      const id = table[slot];
      if (id === EMPTY) return -1;
      const o = offsets[id];
      if (offsets[id + 1] - o === len) {
        let k = 0;
        while (k < len && bytes[o + k] === buf[start + k]) k++;
        if (k === len) return id;
      }
      slot = (slot + 1) & mask;
    }
  }
}

/** FNV-1a over `b[start, end)`, finished with a multiply-shift mix so the low bits used for slots are spread. */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

const B64 = (() => {
  const t = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

function formatError(detail: string): HarmonyError {
  return new HarmonyError(
    `o200k_base ranks from js-tiktoken/ranks/o200k_base: ${detail}. Reinstall js-tiktoken (a version that ships ` +
      `ranks/o200k_base in the format \`! <rank> <base64> …\`).`,
  );
}

/** Decodes the js-tiktoken rank string and appends harmony's special tokens. */
export function buildVocab(src: string): Vocab {
  const total = O200K_BASE_RANK_COUNT + (LAST_SPECIAL_ID - FIRST_SPECIAL_ID + 1);
  const bytes = new Uint8Array(Math.ceil((src.length * 3) / 4) + 32 * (total - O200K_BASE_RANK_COUNT));
  const offsets = new Uint32Array(total + 1);
  let o = 0; // write position in bytes
  let next = 0; // next expected rank
  const n = src.length;
  let i = 0;
  while (i < n) {
    // A line: "! <rank>" then space-separated base64 tokens.
    if (src.charCodeAt(i) === 10) {
      i++;
      continue;
    }
    if (src.charCodeAt(i) !== 33 || src.charCodeAt(i + 1) !== 32) throw formatError(`expected "! " at offset ${i}`);
    i += 2;
    let first = 0;
    while (i < n && src.charCodeAt(i) >= 48 && src.charCodeAt(i) <= 57) first = first * 10 + src.charCodeAt(i++) - 48;
    if (first !== next) throw formatError(`ranks are not consecutive: expected ${next}, found ${first}`);
    while (i < n && src.charCodeAt(i) === 32) {
      i++;
      // One base64 token.
      let acc = 0;
      let bits = 0;
      while (i < n) {
        const c = src.charCodeAt(i);
        if (c === 32 || c === 10) break;
        i++;
        if (c === 61) continue; // '=' padding
        const v = c < 128 ? B64[c] : -1;
        if (v < 0) throw formatError(`invalid base64 character at offset ${i - 1}`);
        acc = ((acc << 6) | v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          bytes[o++] = (acc >> bits) & 0xff;
        }
      }
      if (next >= O200K_BASE_RANK_COUNT) throw formatError(`more than ${O200K_BASE_RANK_COUNT} ranks`);
      offsets[++next] = o;
    }
  }
  if (next !== O200K_BASE_RANK_COUNT) throw formatError(`expected ${O200K_BASE_RANK_COUNT} ranks, found ${next}`);
  for (let id = FIRST_SPECIAL_ID; id <= LAST_SPECIAL_ID; id++) {
    const text = specialTokenText(id)!;
    for (let k = 0; k < text.length; k++) bytes[o++] = text.charCodeAt(k);
    offsets[id + 1] = o;
  }
  return new Vocab(bytes.slice(0, o), offsets, total, O200K_BASE_RANK_COUNT);
}

let cached: Vocab | undefined;

/** The o200k_harmony vocabulary, decoded on first use. */
export function loadVocab(): Vocab {
  cached ??= buildVocab(o200kBase.bpe_ranks);
  return cached;
}
