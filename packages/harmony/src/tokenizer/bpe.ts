import type { Vocab } from './vocab.js';

const NONE = 0x7fffffff;
/** Pieces longer than this many bytes use the heap-based merge (O(n log n)) instead of the array scan (O(n²)). */
export const LONG_PIECE = 96;

let starts = new Int32Array(LONG_PIECE + 1);
let ranks = new Int32Array(LONG_PIECE + 1);
let ids = new Int32Array(LONG_PIECE + 1);

/**
 * Byte-pair encodes one pre-tokenised piece, `buf[0, n)`, appending the token ids to `out`.
 * Same merge order as tiktoken: repeatedly merge the adjacent pair whose concatenation has the lowest rank
 * (leftmost on ties) until no adjacent pair is a token. A merged part's id is the rank that merged it.
 */
export function bytePairEncode(vocab: Vocab, buf: Uint8Array, n: number, out: number[]): void {
  if (n > LONG_PIECE) bytePairEncodeLong(vocab, buf, n, out);
  else bytePairEncodeShort(vocab, buf, n, out);
}

/** Array version: parts in arrays, a linear scan for the lowest rank. Fastest for the short pieces of real text. */
export function bytePairEncodeShort(vocab: Vocab, buf: Uint8Array, n: number, out: number[]): void {
  if (starts.length < n + 1) {
    starts = new Int32Array(n + 1);
    ranks = new Int32Array(n + 1);
    ids = new Int32Array(n + 1);
  }
  const s = starts;
  const r = ranks;
  const p = ids;
  const byteIds = vocab.byteIds;
  const pairIds = vocab.pairIds;
  for (let i = 0; i <= n; i++) s[i] = i;
  for (let i = 0; i < n; i++) p[i] = byteIds[buf[i]];
  for (let i = 0; i < n - 1; i++) {
    const id = pairIds[(buf[i] << 8) | buf[i + 1]];
    r[i] = id < 0 ? NONE : id;
  }
  let parts = n;
  for (;;) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      if (r[i] < best) {
        best = r[i];
        at = i;
      }
    }
    if (at < 0) break;
    // Parts `at` and `at + 1` become one part with id `best`.
    p[at] = best;
    for (let i = at + 1; i < parts - 1; i++) p[i] = p[i + 1];
    for (let i = at + 1; i < parts; i++) s[i] = s[i + 1];
    for (let i = at; i < parts - 2; i++) r[i] = r[i + 1];
    parts--;
    if (at < parts - 1) {
      const id = vocab.find(buf, s[at], s[at + 2]);
      r[at] = id < 0 ? NONE : id;
    }
    if (at > 0) {
      const id = vocab.find(buf, s[at - 1], s[at + 1]);
      r[at - 1] = id < 0 ? NONE : id;
    }
  }
  for (let i = 0; i < parts; i++) out.push(p[i]);
}

const POS = 2 ** 32;

/**
 * Heap version for long pieces (long runs of letters without spaces, CJK, repeated characters). Parts form a linked
 * list keyed by their first byte; candidate merges sit in a binary min-heap keyed by `rank * 2^32 + position`, so
 * ties go to the leftmost pair as in the scan. Entries made stale by a merge are skipped when popped: a part's
 * pair rank never takes the same value twice (the pair only grows, and every byte string has one id).
 */
export function bytePairEncodeLong(vocab: Vocab, buf: Uint8Array, n: number, out: number[]): void {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const rank = new Int32Array(n);
  const id = new Int32Array(n);
  const heap = new Float64Array(3 * n);
  let size = 0;
  const byteIds = vocab.byteIds;
  const pairIds = vocab.pairIds;

  const push = (key: number): void => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= key) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap[--size];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1] < heap[child]) child++;
      if (heap[child] >= last) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return top;
  };

  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    id[i] = byteIds[buf[i]];
  }
  rank[n - 1] = NONE;
  for (let i = 0; i < n - 1; i++) {
    const r = pairIds[(buf[i] << 8) | buf[i + 1]];
    rank[i] = r < 0 ? NONE : r;
    if (r >= 0) push(r * POS + i);
  }
  while (size > 0) {
    const key = pop();
    const r = Math.floor(key / POS);
    const pos = key - r * POS;
    if (rank[pos] !== r) continue; // stale (merged away parts have rank NONE)
    // Merge part `pos` with the part after it.
    const gone = next[pos];
    const after = next[gone];
    rank[gone] = NONE;
    next[pos] = after;
    if (after < n) prev[after] = pos;
    id[pos] = r;
    if (after < n) {
      const m = vocab.find(buf, pos, next[after]);
      rank[pos] = m < 0 ? NONE : m;
      if (m >= 0) push(m * POS + pos);
    } else {
      rank[pos] = NONE;
    }
    const before = prev[pos];
    if (before >= 0) {
      const m = vocab.find(buf, before, after);
      rank[before] = m < 0 ? NONE : m;
      if (m >= 0) push(m * POS + before);
    }
  }
  for (let i = 0; i < n; i = next[i]) out.push(id[i]);
}
