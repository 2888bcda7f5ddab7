import type { ModelConfig } from '../config.js';

/**
 * YaRN-scaled RoPE schedule of gpt-oss (SPEC §1.5.2). `invFreq` and the angles are rounded to fp32 like the
 * reference computes them, because at positions in the tens of thousands the fp32 angle differs visibly from the
 * exact one and we want the reference's numbers, not better ones.
 */
export interface RopeTables {
  concentration: number;
  invFreq: Float32Array;
}

export function ropeTables(c: ModelConfig): RopeTables {
  const dHalf = c.headDim / 2;
  const invFreq = new Float32Array(dHalf);
  const f = Math.fround;
  if (c.ropeScalingFactor > 1) {
    const concentration = 0.1 * Math.log(c.ropeScalingFactor) + 1.0;
    const low = (dHalf * Math.log(c.initialContextLength / (c.ropeNtkBeta * 2 * Math.PI))) / Math.log(c.ropeTheta);
    const high = (dHalf * Math.log(c.initialContextLength / (c.ropeNtkAlpha * 2 * Math.PI))) / Math.log(c.ropeTheta);
    for (let i = 0; i < dHalf; i++) {
      const freq = f(Math.pow(c.ropeTheta, f((2 * i) / c.headDim)));
      const interpolation = f(1 / f(c.ropeScalingFactor * freq));
      const extrapolation = f(1 / freq);
      const ramp = f(f(i - low) / f(high - low));
      const mask = f(1 - Math.min(1, Math.max(0, ramp)));
      invFreq[i] = f(f(interpolation * f(1 - mask)) + f(extrapolation * mask));
    }
    return { concentration, invFreq };
  }
  for (let i = 0; i < dHalf; i++) invFreq[i] = f(1 / f(Math.pow(c.ropeTheta, f((2 * i) / c.headDim))));
  return { concentration: 1, invFreq };
}

/** cos/sin (already multiplied by the concentration) for one position, written into `cos` and `sin` [dHalf]. */
export function ropeAngles(t: RopeTables, position: number, cos: Float32Array, sin: Float32Array): void {
  const n = t.invFreq.length;
  for (let i = 0; i < n; i++) {
    const a = Math.fround(position * t.invFreq[i]);
    cos[i] = Math.cos(a) * t.concentration;
    sin[i] = Math.sin(a) * t.concentration;
  }
}

/** Rotates `heads` head vectors of width 2·dHalf starting at `offset`, pairing the two halves (NeoX style). */
export function applyRope(x: Float32Array, offset: number, heads: number, cos: Float32Array, sin: Float32Array): void {
  const dHalf = cos.length;
  for (let h = 0; h < heads; h++) {
    const o = offset + h * 2 * dHalf;
    for (let i = 0; i < dHalf; i++) {
      const x1 = x[o + i];
      const x2 = x[o + i + dHalf];
      x[o + i] = x1 * cos[i] - x2 * sin[i];
      x[o + i + dHalf] = x2 * cos[i] + x1 * sin[i];
    }
  }
}
