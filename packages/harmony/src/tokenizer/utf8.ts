// UTF-8 helpers working on "binary strings": one char per byte (char codes 0..255). Binary strings make good Map
// keys for byte sequences, are cheap to slice, and avoid allocating a Uint8Array per pre-tokenised piece.

let scratch = new Uint8Array(1024);

/**
 * The UTF-8 bytes of `s` as a binary string. Lone surrogates become U+FFFD (EF BF BD), as `TextEncoder` does, so
 * the result matches what tiktoken (which receives the string through TextEncoder) sees.
 */
export function utf8Binary(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n && s.charCodeAt(i) < 0x80) i++;
  if (i === n) return s;
  if (scratch.length < n * 3) scratch = new Uint8Array(n * 3 + 16);
  const b = scratch;
  let o = 0;
  for (let k = 0; k < i; k++) b[o++] = s.charCodeAt(k);
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b[o++] = c;
    } else if (c < 0x800) {
      b[o++] = 0xc0 | (c >> 6);
      b[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        b[o++] = 0xf0 | (c >> 18);
        b[o++] = 0x80 | ((c >> 12) & 0x3f);
        b[o++] = 0x80 | ((c >> 6) & 0x3f);
        b[o++] = 0x80 | (c & 0x3f);
      } else {
        b[o++] = 0xef;
        b[o++] = 0xbf;
        b[o++] = 0xbd;
      }
    } else {
      b[o++] = 0xe0 | (c >> 12);
      b[o++] = 0x80 | ((c >> 6) & 0x3f);
      b[o++] = 0x80 | (c & 0x3f);
    }
  }
  return bytesToBinary(b, 0, o);
}

/** Bytes `b[start, end)` as a binary string. */
export function bytesToBinary(b: Uint8Array, start: number, end: number): string {
  const CHUNK = 8192;
  if (end - start <= CHUNK) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  let out = '';
  for (let p = start; p < end; p += CHUNK) {
    out += String.fromCharCode.apply(null, b.subarray(p, Math.min(end, p + CHUNK)) as unknown as number[]);
  }
  return out;
}

/**
 * Offset of the first byte that starts an invalid or truncated UTF-8 sequence in `b`, or -1 if `b` is valid
 * UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i;
    const second = b[i + 1];
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const x = b[i + k];
      if (x < 0x80 || x > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}
