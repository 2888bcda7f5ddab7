import { afterEach, describe, expect, it } from 'vitest';
import {
  cpuFeatures,
  getDecodeInt16,
  getDecodePrecision,
  getIsa,
  getPrefillInt16,
  setDecodeInt16,
  setDecodePrecision,
  setPrefillInt16,
} from '../src/index.js';

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

describe('decode int16 switch', () => {
  // The environment (GPTOSS_CPU_INT16GEMV, GPTOSS_CPU_DECODE) only sets the initial values; restore those.
  const int8 = getDecodePrecision() === 'int8';
  afterEach(() => {
    setDecodeInt16(process.env.GPTOSS_CPU_INT16GEMV !== '0');
    setDecodePrecision(int8 ? 'int8' : 'fp32');
  });

  it('reports whether the int16 GEMV takes effect; the opt-in int8 decode wins', () => {
    setDecodePrecision('fp32');
    setDecodeInt16(false);
    expect(getDecodeInt16()).toBe(false);
    setDecodeInt16(true);
    const vnni = cpuFeatures().includes('avx512vnni');
    expect(getDecodeInt16()).toBe(getIsa() === 'avx512' && vnni);
    setDecodePrecision('int8');
    expect(getDecodeInt16()).toBe(false);
  });

  it('rejects a non-boolean with the expected type', () => {
    expect(() => setDecodeInt16(1 as unknown as boolean)).toThrow(/expected a boolean/);
  });
});
