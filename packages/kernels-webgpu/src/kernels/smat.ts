import { KernelShapeError } from '../errors.js';
import type { GpuCaps, SubgroupMatrixShape } from '../gpu.js';

/**
 * The tensor-core core of the prefill GEMMs (`chromium-experimental-subgroup-matrix`, f16 inputs, f32 accumulation):
 * out[m, n] = Σ_k A[m, k] · B[n, k] for a tile of TM tokens (m) × 128 output rows (n), K in steps of 32 (one MXFP4
 * block column, or 32 bf16 values). The caller's WGSL fills the two f16 tiles in workgroup memory for each K step
 * (`xa[k * SA + m]`: the "left" matrix read column-major; `wb[k * SB + n]`: B^T, the "right" matrix read row-major) and consumes the f32 results in an epilogue. Eight subgroups of 32 (NVIDIA's fixed size: caps.subgroups32) are
 * arranged 2 (tokens) × 4 (rows): each owns TM/2 tokens × 32 rows as fragments of the adapter's M×N shape.
 *
 * The global loads of K step g+1 are issued into registers before the matrix products of step g, so their latency
 * hides behind the tensor-core work; each step costs two workgroup barriers.
 */
export const SMAT_TILE_N = 128;

export interface SmatKernelParts {
  /** Tokens per tile: 32 or 64. */
  TM: number;
  /** Number of K steps of 32 (WGSL expression or constant). */
  steps: string;
  /**
   * WGSL that loads step `g` (a u32 in scope) into registers: must declare `let`s only, read by `storeA`/`storeB`.
   * Runs before the barrier that frees the tiles, so it must not touch workgroup memory.
   */
  loadA: string;
  loadB: string;
  /** WGSL that writes the registers of loadA/loadB into `xa[k * SA + m]` / `wb[k * SB + n]` (between the barriers). */
  storeA: string;
  storeB: string;
  /**
   * WGSL run for each result element with `m` (token within the tile), `n` (row within the tile) and `v` (f32) in
   * scope; `pair` variant: `v0`/`v1` for rows n, n+1 (n even) when `pairs` is set.
   */
  epilogue: string;
  pairs?: boolean;
}

export function smatShape(caps: GpuCaps): SubgroupMatrixShape {
  const s = caps.subgroupMatrixShape;
  if (!s || !caps.subgroups32 || !caps.f16) {
    throw new KernelShapeError('subgroup-matrix kernels need an f16 x f16 -> f32 subgroup matrix shape and subgroups of 32');
  }
  return s;
}

/** Whether the subgroup-matrix prefill kernels can run on this context (shape usable with the 2 × 4 layout). */
export function smatUsable(caps: GpuCaps): boolean {
  const s = caps.subgroupMatrixShape;
  return !!s && caps.subgroups32 && caps.f16 && 32 % s.K === 0 && 32 % s.N === 0 && 16 % s.M === 0 && (s.M * s.N) % 32 === 0;
}

export const SMAT_ENABLES = ['f16', 'subgroups', 'chromium_experimental_subgroup_matrix'];

/**
 * Extra parameters of `main` for the subgroup-matrix kernels. Loads and stores need offsets (and control flow) that
 * WGSL can prove uniform per subgroup: the subgroup index comes from `subgroup_id`, or from a broadcast of lid / 32
 * where that built-in is missing (`caps.subgroupMatrixUniformity`, settled by probing; see GptOssGpu).
 */
export function smatMainParams(caps: GpuCaps): string {
  return caps.subgroupMatrixUniformity === 'broadcast'
    ? '@builtin(subgroup_invocation_id) sgLane: u32'
    : '@builtin(subgroup_invocation_id) sgLane: u32, @builtin(subgroup_id) sgId: u32';
}
/**
 * Global directives of the subgroup-matrix kernels: none. (With the subgroup index from `subgroup_id`, the loads,
 * stores and their control flow are provably subgroup-uniform; an unknown diagnostic rule would make Dawn print a
 * compilation log for every shader.)
 */
export const SMAT_DIRECTIVES: string[] = [];

/** Workgroup memory of smatDecls for TM-token tiles, in bytes. */
export function smatTileBytes(caps: GpuCaps, TM: number): number {
  const s = smatShape(caps);
  return ((TM + 8) * 32 + (SMAT_TILE_N + 8) * 32) * 2 + 8 * s.M * s.N * 4;
}

/**
 * WGSL storing vec4f values as f16 into a K-major tile: value i of `vals[j][0]` goes to
 * `tile[(vals[j][1] + i) * stride + col]`. Converted two at a time with pack2x16float — one instruction per pair on
 * NVIDIA against one per value for f16(x), and the conversions were what the tile fills spent most on (dense
 * projections of a 20b prefill chunk 44.4 → 34.1 ms, bench/RESULTS.md session 10).
 */
export function storeHalves(tile: string, stride: string, col: string, vals: readonly (readonly [string, string])[]): string {
  return vals
    .map(
      ([src, k0], j) => `{
        let v${j} = ${src};
        let lo${j} = bitcast<vec2<f16>>(pack2x16float(v${j}.xy));
        let hi${j} = bitcast<vec2<f16>>(pack2x16float(v${j}.zw));
        ${tile}[(${k0}) * ${stride} + ${col}] = lo${j}.x;
        ${tile}[(${k0} + 1u) * ${stride} + ${col}] = lo${j}.y;
        ${tile}[(${k0} + 2u) * ${stride} + ${col}] = hi${j}.x;
        ${tile}[(${k0} + 3u) * ${stride} + ${col}] = hi${j}.y;
      }`,
    )
    .join('\n        ');
}

/** The module-level declarations (the two f16 tiles and the f32 result staging). */
export function smatDecls(caps: GpuCaps, TM: number): string {
  const s = smatShape(caps);
  if (TM !== 32 && TM !== 64 && TM !== 128) throw new KernelShapeError(`subgroup-matrix GEMM: TM must be 32, 64 or 128, got ${TM}`);
  // Both tiles are stored K-major ([k][token], [k][row]) so that the loaders' lanes, which hold consecutive tokens /
  // rows, write consecutive f16 (no bank conflicts), with rows padded by 8 f16 (16 bytes) so that the fragment loads
  // (8 rows of 16 bytes at a time on NVIDIA) hit distinct banks.
  return /* wgsl */ `
const SA = ${TM + 8}u;
const SB = ${SMAT_TILE_N + 8}u;
var<workgroup> xa: array<f16, ${(TM + 8) * 32}>;
var<workgroup> wb: array<f16, ${(SMAT_TILE_N + 8) * 32}>;
var<workgroup> cs: array<f32, ${8 * s.M * s.N}>;`;
}

export function smatMain(caps: GpuCaps, p: SmatKernelParts): string {
  const s = smatShape(caps);
  const { M, N, K } = s;
  const FM = p.TM / 2 / M; // fragments along tokens per subgroup
  const FN = 32 / N; // fragments along rows per subgroup
  const L = `subgroup_matrix_left<f16, ${K}, ${M}>`;
  const R = `subgroup_matrix_right<f16, ${N}, ${K}>`;
  const C = `subgroup_matrix_result<f32, ${N}, ${M}>`;
  const lines: string[] = [];
  for (let i = 0; i < FM; i++) for (let j = 0; j < FN; j++) lines.push(`var c${i}_${j} = ${C}();`);
  const mmaLines: string[] = [];
  for (let kk = 0; kk < 32; kk += K) {
    mmaLines.push('{');
    for (let i = 0; i < FM; i++) {
      mmaLines.push(`let l${i} = subgroupMatrixLoad<${L}>(&xa, ${kk}u * SA + sm * ${p.TM / 2}u + ${i * M}u, true, SA);`);
    }
    for (let j = 0; j < FN; j++) {
      mmaLines.push(`let r${j} = subgroupMatrixLoad<${R}>(&wb, ${kk}u * SB + sn * 32u + ${j * N}u, false, SB);`);
    }
    for (let i = 0; i < FM; i++) {
      for (let j = 0; j < FN; j++) mmaLines.push(`c${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, c${i}_${j});`);
    }
    mmaLines.push('}');
  }
  const mma = mmaLines.join('\n      ');
  // Epilogue: fragment by fragment through `cs` (one M×N slot per subgroup); each lane takes a contiguous run.
  const E = (M * N) / 32;
  const epi: string[] = [];
  for (let i = 0; i < FM; i++) {
    for (let j = 0; j < FN; j++) {
      const store = `subgroupMatrixStore(&cs, sg * ${M * N}u, c${i}_${j}, false, ${N}u);`;
      epi.push(`workgroupBarrier();
  ${store}
  workgroupBarrier();
  for (var ee = 0u; ee < ${E}u; ee += ${p.pairs ? 2 : 1}u) {
    let idx = lane * ${E}u + ee;
    let m = sm * ${p.TM / 2}u + ${i * M}u + idx / ${N}u;
    let n = sn * 32u + ${j * N}u + idx % ${N}u;
    ${p.pairs ? `let v0 = cs[sg * ${M * N}u + idx];\n    let v1 = cs[sg * ${M * N}u + idx + 1u];` : `let v = cs[sg * ${M * N}u + idx];`}
    ${p.epilogue}
  }`);
    }
  }
  return /* wgsl */ `
  ${caps.subgroupMatrixUniformity === 'broadcast' ? 'let sg = subgroupBroadcastFirst(lid >> 5u);' : 'let sg = sgId;'}
  let lane = sgLane;
  let sm = sg >> 2u;
  let sn = sg & 3u;
  ${lines.join('\n  ')}
  {
    var g = 0u;
    ${p.loadA.replace(/\blet\b/g, 'var')}
    ${p.loadB.replace(/\blet\b/g, 'var')}
    loop {
      if (g >= ${p.steps}) { break; }
      workgroupBarrier();
      ${p.storeA}
      ${p.storeB}
      workgroupBarrier();
      g += 1u;
      if (g < ${p.steps}) {
        ${reassign(p.loadA)}
        ${reassign(p.loadB)}
      }
      ${mma}
    }
  }
  ${epi.join('\n  ')}`;
}

/** `let x = e;` → `x = e;` (the loaders' registers are declared once as vars and reloaded each step). */
function reassign(src: string): string {
  return src.replace(/\blet\s+/g, '');
}
