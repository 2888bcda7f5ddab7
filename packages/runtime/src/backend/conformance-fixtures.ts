import { presetConfig, type ModelConfig } from '../config.js';

/** The random checkpoints the reference fixtures were computed on; regenerated in tests from (config, seed). */
export interface FixtureCase {
  name: string;
  seed: number;
  config: ModelConfig;
  tokens: number;
}

export const FIXTURE_CASES: FixtureCase[] = [
  {
    name: 'h64-l2-e8',
    seed: 1,
    tokens: 48,
    config: presetConfig('tiny', { vocabSize: 1024, slidingWindow: 16 }),
  },
  {
    name: 'h128-i96-l3-e16',
    seed: 2,
    tokens: 40,
    config: presetConfig('tiny', {
      hiddenSize: 128,
      intermediateSize: 96,
      numHiddenLayers: 3,
      numExperts: 16,
      numAttentionHeads: 8,
      numKeyValueHeads: 2,
      vocabSize: 2048,
      slidingWindow: 8,
    }),
  },
  {
    name: 'h96-i160-l4-e12-mqa',
    seed: 3,
    tokens: 64,
    config: presetConfig('tiny', {
      hiddenSize: 96,
      intermediateSize: 160,
      numHiddenLayers: 4,
      numExperts: 12,
      numAttentionHeads: 2,
      numKeyValueHeads: 1,
      vocabSize: 1536,
      slidingWindow: 24,
      swigluLimit: 5,
    }),
  },
];

/** Deterministic token ids for a case (no tokenizer needed: the weights are random anyway). */
export function fixtureTokens(c: FixtureCase): number[] {
  let s = c.seed * 2654435761;
  return Array.from({ length: c.tokens }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % c.config.vocabSize;
  });
}
