/**
 * `@gptoss/runtime/internal`: what backend implementers and tests need beyond the public API. Not covered by
 * semver.
 */
export { conformanceCases, maxRelL2, ConformanceError } from './backend/conformance.js';
export type { ConformanceOptions, ConformanceCase } from './backend/conformance.js';
export { FIXTURE_CASES, fixtureTokens } from './backend/conformance-fixtures.js';
export type { FixtureCase } from './backend/conformance-fixtures.js';
export * from './backend/types.js';
export { tensorSpecs, storedParts } from './checkpoint/tensor-specs.js';
export { weightsDigest } from './checkpoint/digest.js';
export { ropeTables, ropeAngles, applyRope } from './model/rope.js';
export type { RopeTables } from './model/rope.js';
export { rmsNorm, linear, swiglu, topK } from './model/math.js';
export { bf16ToF32Array, dequantMxfp4, FP4_VALUES } from './codec.js';
export { Rng } from './rng.js';
