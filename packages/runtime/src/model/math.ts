// Plain fp32 building blocks of the reference forward pass. They favour clarity and a cache-friendly loop order
// over speed; the fast paths live in the cpu and webgpu backends.

/** In-place RMSNorm of `rows` vectors of width `n` (SPEC §1.4): x * rsqrt(mean(x²) + eps) * scale. */
export function rmsNorm(x: Float32Array, scale: Float32Array, rows: number, eps: number, out: Float32Array): Float32Array {
  const n = scale.length;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[o + i] = x[o + i] * inv * scale[i];
  }
  return out;
}

/**
 * out[r, j] = Σ_k x[r, k] · w[j, k] + bias[j] for `rows` rows; `w` is `[n, k]` row-major (torch Linear layout).
 * The weight row is the outer loop so each one is read once per call whatever the number of rows.
 */
export function linear(
  x: Float32Array,
  rows: number,
  w: Float32Array,
  bias: Float32Array | null,
  n: number,
  k: number,
  out: Float32Array,
): Float32Array {
  for (let j = 0; j < n; j++) {
    const wo = j * k;
    const b = bias ? bias[j] : 0;
    for (let r = 0; r < rows; r++) {
      const xo = r * k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let i = 0;
      for (; i + 3 < k; i += 4) {
        s0 += x[xo + i] * w[wo + i];
        s1 += x[xo + i + 1] * w[wo + i + 1];
        s2 += x[xo + i + 2] * w[wo + i + 2];
        s3 += x[xo + i + 3] * w[wo + i + 3];
      }
      for (; i < k; i++) s0 += x[xo + i] * w[wo + i];
      out[r * n + j] = s0 + s1 + s2 + s3 + b;
    }
  }
  return out;
}

export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s0 = 0, s1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
  }
  if (i < n) s0 += a[ao + i] * b[bo + i];
  return s0 + s1;
}

/** The clamped, interleaved SwiGLU of gpt-oss (SPEC §1.6): even lanes gate, odd lanes linear, `+1` on linear. */
export function swiglu(h: Float32Array, out: Float32Array, limit: number, alpha: number): Float32Array {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    let g = h[2 * i];
    let l = h[2 * i + 1];
    if (g > limit) g = limit;
    if (l > limit) l = limit;
    else if (l < -limit) l = -limit;
    out[i] = (g / (1 + Math.exp(-alpha * g))) * (l + 1);
  }
  return out;
}

/** Indices of the `k` largest values, largest first; ties go to the lower index (as Metal does). */
export function topK(values: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) {
    let pos = idx.length;
    while (pos > 0 && values[idx[pos - 1]] < values[i]) pos--;
    if (pos < k) {
      idx.splice(pos, 0, i);
      if (idx.length > k) idx.pop();
    }
  }
  return idx;
}
