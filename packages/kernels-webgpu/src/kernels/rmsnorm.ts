import type { BufferRef, GpuCaps, KernelProgram, StepRecorder } from '../gpu.js';
import { enables, rmsPrologue } from '../wgsl.js';

/** out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * gain, one workgroup per row (K a multiple of 4). */
export function rmsNormProgram(caps: GpuCaps, K: number): KernelProgram {
  return {
    name: 'rmsnorm',
    cacheKey: `rmsnorm:K${K}:sg${+caps.subgroups32}`,
    bindings: [
      { name: 'x', type: 'array<vec4f>', access: 'read' },
      { name: 'gain', type: 'array<vec4f>', access: 'read' },
      { name: 'out', type: 'array<vec4f>', access: 'read_write' },
    ],
    enables: enables(caps),
    params: [
      ['xRow0', 'u32'],
      ['outRow0', 'u32'],
      ['eps', 'f32'],
    ],
    body: () => /* wgsl */ `
${rmsPrologue(caps, 1, K, 'x')}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let xr = p.xRow0 + wid.x;
  computeInvRms(lid, xr, p.eps);
  for (var c = lid; c < ${K / 4}u; c += 256u) {
    out[(p.outRow0 + wid.x) * ${K / 4}u + c] = x[xr * ${K / 4}u + c] * inv_rms[0] * gain[c];
  }
}`,
  };
}

export function rmsNorm(
  rec: StepRecorder,
  program: KernelProgram,
  a: { x: BufferRef; gain: BufferRef; out: BufferRef; rows: number; xRow0?: number; outRow0?: number; eps?: number },
): void {
  rec.dispatch(
    program,
    [a.x, a.gain, a.out],
    { xRow0: a.xRow0 ?? 0, outRow0: a.outRow0 ?? 0, eps: a.eps ?? 1e-5 },
    a.rows,
  );
}
