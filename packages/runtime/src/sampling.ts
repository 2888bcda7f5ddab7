import { InvalidArgumentError } from './errors.js';
import { Rng } from './rng.js';

export interface SamplingOptions {
  /** 0 = greedy (argmax). Default 1.0 (the gpt-oss recommendation). */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches topP. Default 1.0 (off). */
  topP?: number;
  /** Keep only the topK most likely tokens. 0 (default) = off. */
  topK?: number;
  /** Drop tokens whose probability is below minP × the top probability. 0 (default) = off. */
  minP?: number;
  /** Seed of the sampling RNG; same seed + same logits → same tokens. Default: random. */
  seed?: number;
  /** Report this many most likely alternatives with each token (0 = none; max 20). */
  topLogprobs?: number;
}

export interface TokenLogprob {
  token: number;
  /** log_softmax of the raw logits (no temperature), as the seed reports it. */
  logprob: number;
}

export interface SampledToken extends TokenLogprob {
  topLogprobs?: TokenLogprob[];
}

function checkRange(name: string, v: number | undefined, lo: number, hi: number): void {
  if (v !== undefined && !(v >= lo && v <= hi)) throw new InvalidArgumentError(`${name} must be in [${lo}, ${hi}], got ${v}`);
}

/** Indices of the n largest entries of `v`, largest first (ties: lower index first). */
function topIndices(v: Float32Array, n: number): number[] {
  if (n <= 0) return [];
  // One pass with a small sorted buffer: O(V·n) worst case but n is small, and no V-sized sort.
  const idx: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (idx.length === n && !(x > floor)) continue;
    let pos = idx.length;
    while (pos > 0 && v[idx[pos - 1]] < x) pos--;
    idx.splice(pos, 0, i);
    if (idx.length > n) idx.pop();
    floor = v[idx[idx.length - 1]];
  }
  return idx;
}

/**
 * Indices with p[i]/z > 1e-12/z, in descending p (ties: lower index first). A flat distribution keeps most of the
 * vocabulary, so the order comes from a native sort of numeric keys (the f32 bits of p, which order like p for p ≥ 0,
 * then the inverted index) rather than a comparator: ~10× faster on 200k candidates.
 */
function sortedCandidates(p: Float32Array, z: number): number[] {
  const V = p.length;
  const tiny = (1 / z) * 1e-12;
  const shift = 2 ** Math.max(1, Math.ceil(Math.log2(V + 1)));
  const bits = new Uint32Array(p.buffer, p.byteOffset, V);
  if (shift > 2 ** 22) {
    const cand: number[] = [];
    for (let i = 0; i < V; i++) if (p[i] / z > tiny) cand.push(i);
    return cand.sort((a, b) => p[b] - p[a] || a - b);
  }
  const keys = new Float64Array(V);
  let n = 0;
  for (let i = 0; i < V; i++) if (p[i] / z > tiny) keys[n++] = bits[i] * shift + (shift - 1 - i);
  const sorted = keys.subarray(0, n).sort();
  const cand = new Array<number>(n);
  for (let j = 0; j < n; j++) cand[j] = shift - 1 - (sorted[n - 1 - j] % shift);
  return cand;
}

/**
 * Turns logits into tokens: temperature, then top-k, top-p and min-p filtering, then a draw from the seeded RNG.
 */
export class Sampler {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
  readonly topLogprobs: number;
  private readonly rng: Rng;
  private probs = new Float32Array(0);

  constructor(options: SamplingOptions = {}) {
    checkRange('temperature', options.temperature, 0, 100);
    checkRange('topP', options.topP, 0, 1);
    checkRange('minP', options.minP, 0, 1);
    checkRange('topK', options.topK, 0, Number.MAX_SAFE_INTEGER);
    checkRange('topLogprobs', options.topLogprobs, 0, 20);
    this.temperature = options.temperature ?? 1.0;
    this.topP = options.topP ?? 1.0;
    this.topK = Math.floor(options.topK ?? 0);
    this.minP = options.minP ?? 0;
    this.topLogprobs = Math.floor(options.topLogprobs ?? 0);
    this.rng = new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  sample(logits: Float32Array): SampledToken {
    const V = logits.length;
    let max = -Infinity;
    let argmax = 0;
    for (let i = 0; i < V; i++) {
      if (logits[i] > max) {
        max = logits[i];
        argmax = i;
      }
    }
    // At temperature 1 the sampling weights are the same exponentials as the log-softmax needs: compute them once.
    const reuse = this.temperature === 1;
    if (reuse && this.probs.length !== V) this.probs = new Float32Array(V);
    let sum = 0;
    for (let i = 0; i < V; i++) {
      const e = Math.exp(logits[i] - max);
      if (reuse) this.probs[i] = e;
      sum += e;
    }
    const lse = max + Math.log(sum);
    const token = this.temperature === 0 ? argmax : this.draw(logits, max, reuse ? sum : -1);
    const out: SampledToken = { token, logprob: logits[token] - lse };
    if (this.topLogprobs > 0) out.topLogprobs = topIndices(logits, this.topLogprobs).map((t) => ({ token: t, logprob: logits[t] - lse }));
    return out;
  }

  /** `z` ≥ 0: this.probs already holds exp(logit − max) summing to z (temperature 1). */
  private draw(logits: Float32Array, max: number, z: number): number {
    const V = logits.length;
    if (this.probs.length !== V) this.probs = new Float32Array(V);
    const p = this.probs;
    if (z < 0) {
      const invT = 1 / this.temperature;
      z = 0;
      for (let i = 0; i < V; i++) {
        p[i] = Math.exp((logits[i] - max) * invT);
        z += p[i];
      }
    }
    const filtered = this.topK > 0 || this.topP < 1 || this.minP > 0;
    if (!filtered) {
      let r = this.rng.next() * z;
      for (let i = 0; i < V; i++) {
        r -= p[i];
        if (r < 0) return i;
      }
      return V - 1;
    }
    // Candidates in descending probability. Without top-k, only tokens that can matter are sorted.
    let cand: number[];
    if (this.topK > 0 && this.topK < V) {
      cand = topIndices(p, this.topK);
    } else {
      cand = sortedCandidates(p, z);
    }
    if (this.minP > 0) {
      const cut = this.minP * p[cand[0]];
      let n = cand.length;
      while (n > 1 && p[cand[n - 1]] < cut) n--;
      cand.length = n;
    }
    if (this.topP < 1) {
      const total = cand.reduce((s, i) => s + p[i], 0);
      let acc = 0;
      let n = 0;
      while (n < cand.length) {
        acc += p[cand[n++]];
        if (acc >= this.topP * total) break;
      }
      cand.length = Math.max(1, n);
    }
    const total = cand.reduce((s, i) => s + p[i], 0);
    let r = this.rng.next() * total;
    for (const i of cand) {
      r -= p[i];
      if (r < 0) return i;
    }
    return cand[cand.length - 1];
  }
}
