import type { Vocab } from './vocab.js';

const NONE = 0x7fffffff;
let starts = new Int32Array(256);
let ranks = new Int32Array(256);
let ids = new Int32Array(256);

/**
 * Byte-pair encodes one pre-tokenised piece, `buf[0, n)`, appending the token ids to `out`.
 * Same merge order as tiktoken: repeatedly merge the adjacent pair whose concatenation has the lowest rank
 * (leftmost on ties) until no adjacent pair is a token. A merged part's id is the rank that merged it.
 */
export function bytePairEncode(vocab: Vocab, buf: Uint8Array, n: number, out: number[]): void {
  if (starts.length < n + 1) {
    starts = new Int32Array(n + 1);
    ranks = new Int32Array(n + 1);
    ids = new Int32Array(n + 1);
  }
  const s = starts;
  const r = ranks;
  const p = ids;
  const byteIds = vocab.byteIds;
  for (let i = 0; i <= n; i++) s[i] = i;
  for (let i = 0; i < n; i++) p[i] = byteIds[buf[i]];
  for (let i = 0; i < n - 1; i++) {
    const id = vocab.find(buf, i, i + 2);
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
