// o200k_base mergeable ranks, shipped inside js-tiktoken as a plain ES module holding one string (see the report
// in bench/RESULTS.md for why this package). The string is `! <first rank> <base64 token> <base64 token> …`, with
// ranks consecutive from the first one; it is parsed once, on first use.
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { HarmonyError } from '../errors.js';

export interface Ranks {
  /** Token bytes (binary string) → rank. */
  readonly encoder: Map<string, number>;
  /** Rank → token bytes (binary string), for ranks 0..count-1. */
  readonly decoder: string[];
}

/** Number of ordinary (BPE) tokens in o200k_base. */
export const O200K_BASE_RANK_COUNT = 199998;

let cached: Ranks | undefined;

export function loadRanks(): Ranks {
  if (cached !== undefined) return cached;
  const src: string = o200kBase.bpe_ranks;
  const encoder = new Map<string, number>();
  const decoder: string[] = [];
  for (const line of src.split('\n')) {
    if (line.length === 0) continue;
    const parts = line.split(' ');
    const first = Number.parseInt(parts[1], 10);
    for (let i = 2; i < parts.length; i++) {
      const bytes = atob(parts[i]);
      const rank = first + i - 2;
      encoder.set(bytes, rank);
      decoder[rank] = bytes;
    }
  }
  if (decoder.length !== O200K_BASE_RANK_COUNT || encoder.size !== O200K_BASE_RANK_COUNT) {
    throw new HarmonyError(
      `o200k_base ranks from js-tiktoken: expected ${O200K_BASE_RANK_COUNT} distinct consecutive ranks, found ` +
        `${encoder.size} (highest ${decoder.length - 1}). Install a js-tiktoken version whose ranks/o200k_base is intact.`,
    );
  }
  cached = { encoder, decoder };
  return cached;
}
