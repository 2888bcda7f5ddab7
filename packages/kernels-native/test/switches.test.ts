import { afterEach, describe, expect, it } from 'vitest';
import { cpuFeatures, getIsa, getPrefillInt16, setPrefillInt16 } from '../src/index.js';

describe('prefill int16 switch', () => {
  afterEach(() => setPrefillInt16(true));

  it('reports whether the int16 GEMM takes effect, and can be turned off and on', () => {
    setPrefillInt16(false);
    expect(getPrefillInt16()).toBe(false);
    setPrefillInt16(true);
    // In effect exactly when the AVX-512 variant runs on a CPU with VNNI (the env var only sets the initial value).
    const vnni = [cpuFeatures()].flat().join(' ').includes('vnni');
    expect(getPrefillInt16()).toBe(getIsa() === 'avx512' && vnni);
  });

  it('rejects a non-boolean with the expected type', () => {
    expect(() => setPrefillInt16('yes' as unknown as boolean)).toThrow(/expected a boolean/);
  });
});
