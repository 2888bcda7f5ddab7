/**
 * The floor of a decode step through Dawn on this GPU: chains of ideal streaming kernels that read exactly the bytes
 * of a gpt-oss decode step's dispatches (no arithmetic beyond an XOR, every load of an invocation issued at once),
 * each dispatch depending on the previous one as the real step's do. The GPU time of a chain is what any kernels with
 * that dispatch structure could reach; comparing chains with 6, 5 or 1 dispatches per layer separates the fixed cost
 * of a dependent dispatch from the cost of the bytes. Bundled to .device/floor.mjs (bench/bundle.mjs).
 *
 *   node floor.mjs [--model 20b|120b] [--reps 12] [--scale 1] [--ctx 128]
 *
 * `--scale` shrinks every byte count (local runs on SwiftShader only check that the chains record and run).
 */
import { createNodeGpuContext, type GpuContext, type KernelProgram } from '../src/gpu.js';
import { WG_INDEX } from '../src/wgsl.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '1');
const model = args.get('model') ?? '20b';
const reps = Number(args.get('reps') ?? 12);
const scale = Number(args.get('scale') ?? 1);
const ctxLen = Number(args.get('ctx') ?? 128);

/** One-shot streaming read: U vec4 loads per invocation, all issued before any is used. */
function streamProgram(U: number, tag = 0, extra = 0): KernelProgram {
  const loads = Array.from(
    { length: U },
    (_, j) => `{ let i = base + ${j * 256}u; if (i < p.n) { acc ^= w[i]; } }`,
  ).join('\n  ');
  return {
    name: `stream_u${U}`,
    cacheKey: `floor_stream:${U}:${tag}:${extra}`,
    bindings: [
      { name: 'w', type: 'array<vec4<u32>>', access: 'read' },
      { name: 'prev', type: 'array<u32>', access: 'read' },
      ...Array.from({ length: extra }, (_, i) => ({ name: `extra${i}`, type: 'array<u32>', access: 'read' as const })),
      { name: 'out', type: 'array<u32>', access: 'read_write' },
    ],
    params: [
      ['n', 'u32'],
      ['magic', 'u32'],
    ],
    body: () => /* wgsl */ `
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wgIndex(wid, nwg);
  let base = g * ${256 * U}u + lid;
  var acc = vec4<u32>(0u);
  ${loads}
  // Never true for random data: keeps the loads alive without writing.
  if (acc.x == p.magic && acc.y == p.magic) { out[1u + (g & 1023u)] = acc.z; }
  if (g == 0u && lid == 0u) { out[0] = prev[0] + ${tag + 1}u${Array.from({ length: extra }, (_, i) => ` + extra${i}[0]`).join('')}; }
}`,
  };
}

interface Shapes {
  layers: number;
  perLayer: { name: string; bytes: number }[];
  unembed: number;
}

function shapes(name: string): Shapes {
  const H = 2880;
  const q = 64 * 64;
  const kv = 8 * 64;
  const I = 2880;
  const E = name === '120b' ? 128 : 32;
  const layers = name === '120b' ? 36 : 24;
  const mx = (rows: number, k: number) => (rows * k * 17) / 32; // MXFP4 blocks + E8M0 scales
  // f32 K and V of the positions an attention layer reads (sliding layers: at most 128).
  const kvBytes = (pos: number) => pos * kv * 4 * 2;
  return {
    layers,
    perLayer: [
      { name: 'qkv', bytes: (q + 2 * kv) * H * 2 },
      { name: 'attention', bytes: kvBytes(Math.min(ctxLen, 128)) },
      { name: 'out', bytes: H * q * 2 },
      { name: 'router', bytes: E * H * 2 },
      { name: 'mlp1', bytes: 4 * mx(2 * I, H) + 4 * 2 * I * 4 },
      { name: 'mlp2', bytes: 4 * mx(H, I) + 4 * H * 4 },
    ],
    unembed: 201088 * H * 2,
  };
}

async function main(): Promise<void> {
  const ctx: GpuContext = await createNodeGpuContext({ profile: true, validation: false });
  const timed = !!ctx.device.features.has('timestamp-query');
  const s = shapes(model);
  const align = (b: number) => Math.max(256, Math.ceil((b * scale) / 256) * 256);
  // Weight pools far larger than the L2 (50 MB on the H100), read round-robin so no dispatch finds its bytes cached.
  const poolBytes = align(Math.min(1 << 30, 2 * s.perLayer.reduce((a, p) => a + p.bytes, 0) * 6));
  const pool = ctx.createBuffer(poolBytes, 'floor pool');
  const unembed = ctx.createBuffer(align(s.unembed), 'floor unembed');
  const ping = [ctx.createBuffer(4 * 1040, 'ping'), ctx.createBuffer(4 * 1040, 'pong')];
  let cursor = 0;

  // A buffer no dispatch writes: the independent chains read it instead of the previous dispatch's output.
  const constant = ctx.createBuffer(4 * 1040, 'constant');
  /** fresh: every dispatch writes a buffer created for this step, so Dawn records no barrier between them. */
  type Chain = { name: string; dispatches: number[]; fresh?: boolean; pipelines?: number; extra?: number };
  const layer6 = s.perLayer.map((p) => p.bytes);
  const [qkv, att, out, router, mlp1, mlp2] = layer6;
  const perLayerSum = layer6.reduce((a, b) => a + b, 0);
  const chain = (per: number[], tail = true): number[] => {
    const d: number[] = [256]; // embedding row
    for (let l = 0; l < s.layers; l++) d.push(...per);
    if (tail) d.push(s.unembed, 256); // unembedding, sampling
    return d;
  };
  const chains: Chain[] = [
    { name: '6 per layer (the shipped chain: qkv, attention, out, router, mlp1, mlp2)', dispatches: chain(layer6) },
    { name: '5 per layer (router inside mlp1)', dispatches: chain([qkv, att, out, router + mlp1, mlp2]) },
    { name: '4 per layer (also attention inside qkv)', dispatches: chain([qkv + att, out, router + mlp1, mlp2]) },
    { name: '2 per layer', dispatches: chain([qkv + att + out, router + mlp1 + mlp2]) },
    { name: '1 per layer', dispatches: chain([perLayerSum]) },
    { name: 'layers only, 6 per layer (no unembedding)', dispatches: chain(layer6, false) },
    { name: 'unembedding alone', dispatches: [s.unembed] },
    { name: `empty: ${s.layers * 6 + 3} dependent dispatches of one workgroup`, dispatches: Array(s.layers * 6 + 3).fill(0) },
    {
      name: `empty: ${s.layers * 6 + 3} independent dispatches (fresh outputs: no barriers)`,
      dispatches: Array(s.layers * 6 + 3).fill(0),
      fresh: true,
    },
    { name: '6 per layer, independent (fresh outputs: no barriers)', dispatches: chain(layer6), fresh: true },
    { name: '6 per layer, a different pipeline for each of the 6', dispatches: chain(layer6), pipelines: 6 },
    { name: '6 per layer, 6 pipelines, 3 more bindings each', dispatches: chain(layer6), pipelines: 6, extra: 3 },
    { name: '6 per layer again', dispatches: chain(layer6) },
    // One kind alone, once per layer (compare with bench.mjs --kernel-split).
    ...s.perLayer.map((p) => ({ name: `${p.name} alone, ${s.layers} dispatches`, dispatches: Array(s.layers).fill(p.bytes) as number[] })),
  ];

  const rows: string[] = [];
  for (const U of [8, 4]) {
    for (const c of chains) {
      const progs = Array.from({ length: c.pipelines ?? 1 }, (_, t) => streamProgram(U, t, c.extra ?? 0));
      const run = () => {
        const rec = ctx.begin();
        const fresh: GPUBuffer[] = [];
        c.dispatches.forEach((bytes, i) => {
          const big = bytes === s.unembed;
          const b = bytes === 0 ? 0 : align(bytes);
          let w: { buffer: GPUBuffer; offset: number; size: number };
          if (big) w = { buffer: unembed, offset: 0, size: b };
          else {
            if (cursor + Math.max(b, 256) > poolBytes) cursor = 0;
            w = { buffer: pool, offset: cursor, size: Math.max(b, 256) };
            cursor += Math.max(b, 256);
          }
          const n = b / 16;
          const wg = Math.max(1, Math.ceil(n / (256 * U)));
          // The embedding's dispatch is index 0, so layer dispatch i uses pipeline (i - 1) mod count.
          const prog = progs[(i + progs.length - 1) % progs.length];
          const extra = Array.from({ length: c.extra ?? 0 }, () => constant);
          if (c.fresh) {
            const o = ctx.createBuffer(4 * 1040);
            fresh.push(o);
            rec.dispatch(prog, [w, constant, ...extra, o], { n, magic: 0x9e3779b9 }, wg);
          } else rec.dispatch(prog, [w, ping[i & 1], ...extra, ping[(i + 1) & 1]], { n, magic: 0x9e3779b9 }, wg);
        });
        rec.submit();
        return fresh;
      };
      const per: number[] = [];
      if (timed) ctx.enableProfiling(reps + 2, 'step');
      // Steps queued back to back (the GPU does not idle between them, so its clocks stay up).
      const made: GPUBuffer[] = [];
      const t = performance.now();
      for (let r = 0; r < reps + 2; r++) made.push(...run());
      await ctx.sync();
      for (const b of made) b.destroy();
      if (!timed) per.push(((performance.now() - t) * 1000) / (reps + 2));
      if (timed) {
        per.push(...(await ctx.readTimes()).slice(2).map((t) => t.us));
        ctx.profiler = null;
      }
      per.sort((a, b) => a - b);
      const us = per[per.length >> 1];
      const bytes = c.dispatches.reduce((a, b) => a + b, 0) * scale;
      const line = `| U=${U} | ${c.name} | ${c.dispatches.length} | ${(bytes / 1e9).toFixed(3)} GB | ${us.toFixed(0)} µs (min ${per[0].toFixed(0)}) | ${(bytes / us / 1e6).toFixed(2)} TB/s | ${(1e6 / us).toFixed(0)} steps/s |`;
      rows.push(line);
      console.log(line);
    }
  }
  console.log(`\n${model} decode-step floor (${timed ? 'GPU timestamps' : 'wall time'}, median of ${reps}, ctx ${ctxLen}, scale ${scale})`);
  console.log('| kernel | chain | dispatches | bytes | step | = | steps/s |\n|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  ctx.destroy();
}

await main();
