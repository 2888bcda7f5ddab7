/** Plain TypeScript references of each op (SPEC §1), in f32/f64, for the kernel tests. */

export function refGemv(W: Float32Array, x: Float32Array, M: number, N: number, K: number): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += W[n * K + k] * x[m * K + k];
      y[m * N + n] = s;
    }
  return y;
}

export function refRmsNorm(x: Float32Array, gain: Float32Array, M: number, K: number, eps: number): Float32Array {
  const y = new Float32Array(M * K);
  for (let m = 0; m < M; m++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += x[m * K + k] ** 2;
    const inv = 1 / Math.sqrt(ss / K + eps);
    for (let k = 0; k < K; k++) y[m * K + k] = x[m * K + k] * inv * gain[k];
  }
  return y;
}

const FP4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/** Random MXFP4 tensor [rows, K] (blocks [rows, K/32, 16], scales [rows, K/32]) and its dequantised values. */
export function randomMxfp4(
  rows: number,
  K: number,
  r: () => number,
  scaleLo = 118,
  scaleHi = 124,
): { blocks: Uint8Array; scales: Uint8Array; values: Float32Array } {
  const G = K / 32;
  const blocks = new Uint8Array(rows * G * 16);
  const scales = new Uint8Array(rows * G);
  const values = new Float32Array(rows * K);
  for (let i = 0; i < blocks.length; i++) blocks[i] = Math.floor(r() * 256);
  for (let i = 0; i < scales.length; i++) scales[i] = scaleLo + Math.floor(r() * (scaleHi - scaleLo + 1));
  for (let row = 0; row < rows; row++)
    for (let g = 0; g < G; g++) {
      const s = 2 ** (scales[row * G + g] - 127);
      for (let j = 0; j < 16; j++) {
        const b = blocks[(row * G + g) * 16 + j];
        values[row * K + g * 32 + 2 * j] = FP4[b & 15] * s;
        values[row * K + g * 32 + 2 * j + 1] = FP4[b >> 4] * s;
      }
    }
  return { blocks, scales, values };
}

/** Top-k (ties → lower index) then softmax over the selected logits. */
export function refTopk(logits: ArrayLike<number>, k: number): { idx: number[]; w: number[] } {
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const idx = order.slice(0, k);
  const mx = Math.max(...idx.map((i) => logits[i]));
  const e = idx.map((i) => Math.exp(logits[i] - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return { idx, w: e.map((v) => v / s) };
}

export function refSwiglu(gate: number, lin: number, limit: number): number {
  const g = Math.min(gate, limit);
  const l = Math.min(Math.max(lin, -limit), limit);
  return (g / (1 + Math.exp(-1.702 * g))) * (l + 1);
}

/** YaRN RoPE table [positions][D/2] of (cos·c, sin·c), as the reference computes it (fp32 angle). */
export function refRopeTable(
  positions: number,
  D: number,
  o: { theta: number; factor: number; alpha: number; beta: number; L0: number },
): Float32Array {
  const half = D / 2;
  const inv = new Float32Array(half);
  let conc = 1;
  for (let i = 0; i < half; i++) {
    const freq = Math.fround(o.theta ** ((2 * i) / D));
    if (o.factor > 1) {
      conc = 0.1 * Math.log(o.factor) + 1;
      const low = (half * Math.log(o.L0 / (o.beta * 2 * Math.PI))) / Math.log(o.theta);
      const high = (half * Math.log(o.L0 / (o.alpha * 2 * Math.PI))) / Math.log(o.theta);
      const ramp = (i - low) / (high - low);
      const mask = 1 - Math.min(Math.max(ramp, 0), 1);
      inv[i] = (1 / (o.factor * freq)) * (1 - mask) + (1 / freq) * mask;
    } else inv[i] = 1 / freq;
  }
  const t = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++)
    for (let i = 0; i < half; i++) {
      const a = Math.fround(p * inv[i]);
      t[(p * half + i) * 2] = Math.cos(a) * conc;
      t[(p * half + i) * 2 + 1] = Math.sin(a) * conc;
    }
  return t;
}

export function refRope(v: Float32Array, off: number, D: number, table: Float32Array, pos: number): void {
  const half = D / 2;
  for (let i = 0; i < half; i++) {
    const c = table[(pos * half + i) * 2];
    const s = table[(pos * half + i) * 2 + 1];
    const x1 = v[off + i];
    const x2 = v[off + i + half];
    v[off + i] = x1 * c - x2 * s;
    v[off + i + half] = x2 * c + x1 * s;
  }
}

/**
 * Sink attention for one query row: q [NQ*D] (already rotated), keys/values [positions][NKV*D] (rotated keys),
 * attending to positions [start, pos].
 */
export function refAttention(
  q: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  sinks: Float32Array,
  NQ: number,
  NKV: number,
  D: number,
  pos: number,
  window: number,
): Float32Array {
  const out = new Float32Array(NQ * D);
  const G = NQ / NKV;
  const start = window > 0 ? Math.max(0, pos - window + 1) : 0;
  for (let h = 0; h < NQ; h++) {
    const g = Math.floor(h / G);
    const sc: number[] = [];
    for (let j = start; j <= pos; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += q[h * D + d] * keys[(j * NKV + g) * D + d];
      sc.push(s / Math.sqrt(D));
    }
    const mx = Math.max(sinks[h], ...sc);
    let z = Math.exp(sinks[h] - mx);
    const e = sc.map((s) => Math.exp(s - mx));
    for (const v of e) z += v;
    for (let d = 0; d < D; d++) {
      let a = 0;
      for (let j = start; j <= pos; j++) a += e[j - start] * values[(j * NKV + g) * D + d];
      out[h * D + d] = a / z;
    }
  }
  return out;
}
