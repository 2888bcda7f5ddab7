/** Hyper-parameters of YaRN RoPE (SPEC §1.5.2). */
export interface RopeConfig {
  headDim: number;
  ropeTheta: number;
  ropeScalingFactor: number;
  ropeNtkAlpha: number;
  ropeNtkBeta: number;
  initialContextLength: number;
}

/**
 * YaRN table `[positions][headDim/2]` of (cos(p·f_i)·c, sin(p·f_i)·c), with the angle rounded to f32 as the reference
 * computes it. A table instead of in-shader cos/sin: GPU sin/cos are inaccurate for large arguments.
 */
export function yarnRopeTable(positions: number, c: RopeConfig): Float32Array {
  const D = c.headDim;
  const half = D / 2;
  const inv = new Float32Array(half);
  let conc = 1;
  const base = c.ropeTheta;
  const factor = c.ropeScalingFactor;
  for (let i = 0; i < half; i++) {
    const freq = Math.fround(base ** ((2 * i) / D));
    if (factor > 1) {
      conc = 0.1 * Math.log(factor) + 1;
      const low = (half * Math.log(c.initialContextLength / (c.ropeNtkBeta * 2 * Math.PI))) / Math.log(base);
      const high = (half * Math.log(c.initialContextLength / (c.ropeNtkAlpha * 2 * Math.PI))) / Math.log(base);
      const ramp = (i - low) / (high - low);
      const mask = 1 - Math.min(Math.max(ramp, 0), 1);
      inv[i] = (1 / (factor * freq)) * (1 - mask) + (1 / freq) * mask;
    } else {
      inv[i] = 1 / freq;
    }
  }
  const t = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(p * inv[i]);
      t[(p * half + i) * 2] = Math.cos(a) * conc;
      t[(p * half + i) * 2 + 1] = Math.sin(a) * conc;
    }
  }
  return t;
}
