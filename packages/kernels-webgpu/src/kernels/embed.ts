import type { BufferRef, KernelProgram, StepRecorder } from '../gpu.js';

/**
 * Embedding gather on the GPU: x[xRow0 + m] = f32(E[tokens[tokIndex + m]]) for a bf16 table split by rows into
 * parts of `rowsPerPart` (bindings emb0..). Reading the ids from a GPU buffer lets a generation loop feed the sampled
 * token straight back without a round trip to the host.
 */
export function embedProgram(H: number, parts: number, rowsPerPart: number): KernelProgram {
  const H2 = H / 2;
  const NC = Math.ceil(H2 / 256);
  const loads = Array.from({ length: parts }, (_, i) =>
    i === parts - 1 ? `return emb${i}[i];` : `if (part == ${i}u) { return emb${i}[i]; }`,
  ).join(' ');
  return {
    name: 'embed',
    cacheKey: `embed2:H${H}:P${parts}:R${rowsPerPart}`,
    bindings: [
      ...Array.from({ length: parts }, (_, i) => ({ name: `emb${i}`, type: 'array<u32>', access: 'read' as const })),
      { name: 'tokens', type: 'array<u32>', access: 'read' },
      { name: 'x', type: 'array<vec2f>', access: 'read_write' },
    ],
    params: [
      ['tokIndex', 'u32'],
      ['xRow0', 'u32'],
    ],
    body: () => /* wgsl */ `
fn load(part: u32, i: u32) -> u32 { ${loads} }
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let tok = tokens[p.tokIndex + wid.x];
  let part = tok / ${rowsPerPart}u;
  let base = (tok - part * ${rowsPerPart}u) * ${H2}u;
  // Every load of the row is issued before the first store (stores to x may alias the table as far as the compiler
  // knows, so a loop would wait for each load in turn): one memory round trip at the start of every decode step.
  ${Array.from({ length: NC }, (_, i) => `let w${i} = load(part, base + min(lid + ${256 * i}u, ${H2 - 1}u));`).join('\n  ')}
  ${Array.from({ length: NC }, (_, i) => {
    const st = `x[(p.xRow0 + wid.x) * ${H2}u + lid + ${256 * i}u] = vec2f(bitcast<f32>(w${i} << 16u), bitcast<f32>(w${i} & 0xffff0000u));`;
    return 256 * (i + 1) > H2 ? `if (lid + ${256 * i}u < ${H2}u) { ${st} }` : st;
  }).join('\n  ')}
}`,
  };
}

export function embed(
  rec: StepRecorder,
  program: KernelProgram,
  a: { parts: readonly GPUBuffer[]; tokens: BufferRef; x: BufferRef; rows: number; tokIndex?: number; xRow0?: number },
): void {
  rec.dispatch(program, [...a.parts, a.tokens, a.x], { tokIndex: a.tokIndex ?? 0, xRow0: a.xRow0 ?? 0 }, a.rows);
}
