// Incremental UTF-8 decoding with the WHATWG/Rust-lossy rules: complete characters come out as soon as their
// last byte arrives, each maximal invalid subsequence becomes one U+FFFD, and an unfinished but so-far-valid
// sequence at the end waits for more bytes. Same output as `TextDecoder.decode(bytes, { stream: true })`, but
// tokens whose bytes are complete UTF-8 on their own (nearly all) skip the decoder through a per-token cache.
import type { Tokenizer } from '../tokenizer/index.js';

const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Number of bytes of the sequence a lead byte starts (0: not a multi-byte lead). */
function sequenceLength(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Valid range of the byte right after lead byte `lead` (WHATWG UTF-8 decoder). */
function secondByteOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/** Index where an unfinished, so-far-valid sequence starts at the end of `buf`, or `buf.length`. @internal */
export function incompleteTailStart(buf: Uint8Array): number {
  const n = buf.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const b = buf[i];
    if (b >= 0x80 && b <= 0xbf) continue;
    const len = sequenceLength(b);
    if (len === 0 || n - i >= len) return n;
    if (n - i >= 2 && !secondByteOk(b, buf[i + 1])) return n;
    for (let k = i + 2; k < n; k++) if (buf[k] < 0x80 || buf[k] > 0xbf) return n;
    return i;
  }
  return n;
}

const NOT_COMPLETE = null;
const caches = new WeakMap<Tokenizer, Map<number, string | null>>();

/** @internal */
export class Utf8Stream {
  readonly #tokenizer: Tokenizer;
  readonly #cache: Map<number, string | null>;
  #pending: Uint8Array = new Uint8Array(0);

  constructor(tokenizer: Tokenizer) {
    this.#tokenizer = tokenizer;
    let cache = caches.get(tokenizer);
    if (cache === undefined) {
      cache = new Map();
      caches.set(tokenizer, cache);
    }
    this.#cache = cache;
  }

  /** Decodes one more token; unknown ids become U+FFFD (after flushing pending bytes). */
  pushToken(token: number): string {
    if (this.#pending.length === 0) {
      const hit = this.#cache.get(token);
      if (typeof hit === 'string') return hit;
    }
    let bytes: Uint8Array;
    try {
      bytes = this.#tokenizer.tokenToBytes(token);
    } catch {
      return this.flush() + '\uFFFD';
    }
    if (this.#cache.get(token) === undefined) this.#remember(token, bytes);
    const hit = this.#pending.length === 0 ? this.#cache.get(token) : undefined;
    if (typeof hit === 'string') return hit;
    return this.pushBytes(bytes);
  }

  pushBytes(bytes: Uint8Array): string {
    let buf = bytes;
    if (this.#pending.length > 0) {
      buf = new Uint8Array(this.#pending.length + bytes.length);
      buf.set(this.#pending);
      buf.set(bytes, this.#pending.length);
    }
    const split = incompleteTailStart(buf);
    this.#pending = buf.slice(split);
    return split === 0 ? '' : lossy.decode(buf.subarray(0, split));
  }

  /** Ends the stream: pending bytes become U+FFFD. */
  flush(): string {
    if (this.#pending.length === 0) return '';
    const s = lossy.decode(this.#pending);
    this.#pending = new Uint8Array(0);
    return s;
  }

  #remember(token: number, bytes: Uint8Array): void {
    let s: string | null;
    try {
      s = strict.decode(bytes);
    } catch {
      s = NOT_COMPLETE;
    }
    this.#cache.set(token, s);
  }
}
