export { Tokenizer, getTokenizer } from './tokenizer.js';
export type { EncodeOptions } from './tokenizer.js';
export { SpecialTokens } from './special-tokens.js';
export { pretokenize } from './pretokenize.js';
