import { describe, expect, it } from 'vitest';
import { KernelShapeError } from '../src/errors.js';
import { pickSubgroupMatrixShape, shaderText, type GpuCaps } from '../src/gpu.js';
import { gemmBf16Program } from '../src/kernels/gemm-bf16.js';
import { moeGroupedMlp1Program, moeGroupedMlp2Program } from '../src/kernels/moe-grouped.js';
import { smatDecls, smatTileBytes, smatUsable, storeHalves } from '../src/kernels/smat.js';

// The subgroup-matrix kernels only compile on adapters with `chromium-experimental-subgroup-matrix` (the H100 runs
// them: bench/RESULTS.md); SwiftShader has no such feature, so here we check the choice of configuration and the
// structure of the generated WGSL, and the model tests check that the f32 path is used instead.

const FEATURE = 'chromium-experimental-subgroup-matrix';
function adapter(configs: unknown[], has = true): GPUAdapter {
  return { features: new Set(has ? [FEATURE] : []), info: { subgroupMatrixConfigs: configs } } as unknown as GPUAdapter;
}
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({
  componentType,
  resultComponentType,
  M,
  N,
  K,
});

const caps: GpuCaps = {
  subgroups32: true,
  cpuLike: false,
  f16: true,
  subgroupMatrix: true,
  subgroupMatrixShape: { M: 16, N: 16, K: 16 },
  subgroupMatrixUniformity: 'subgroup_id',
  maxStorageBindingSize: 1 << 30,
  maxBufferSize: 1 << 30,
  maxWorkgroupStorage: 49152,
  maxStorageBuffersPerStage: 10,
  description: 'test',
};

describe('subgroup-matrix configuration', () => {
  it('picks the largest f16 x f16 -> f32 shape the 2 x 4 subgroup layout can tile', () => {
    const a = adapter([
      cfg('f16', 'f16', 16, 16, 16),
      cfg('i8', 'i32', 16, 16, 32),
      cfg('f16', 'f32', 16, 8, 16),
      cfg('f16', 'f32', 16, 16, 16),
      cfg('f16', 'f32', 32, 32, 16), // M = 32 does not divide a subgroup's 16 or 32 tokens evenly here
    ]);
    expect(pickSubgroupMatrixShape(a)).toEqual({ M: 16, N: 16, K: 16 });
  });

  it('returns null without the feature or without an f16 -> f32 configuration', () => {
    expect(pickSubgroupMatrixShape(adapter([cfg('f16', 'f32', 16, 16, 16)], false))).toBeNull();
    expect(pickSubgroupMatrixShape(adapter([cfg('f16', 'f16', 16, 16, 16), cfg('f32', 'f32', 8, 8, 8)]))).toBeNull();
    expect(pickSubgroupMatrixShape(adapter([]))).toBeNull();
  });

  it('needs subgroups of 32 and f16 to be usable', () => {
    expect(smatUsable(caps)).toBe(true);
    expect(smatUsable({ ...caps, f16: false })).toBe(false);
    expect(smatUsable({ ...caps, subgroups32: false })).toBe(false);
    expect(smatUsable({ ...caps, subgroupMatrixShape: null })).toBe(false);
    expect(() => gemmBf16Program({ ...caps, subgroupMatrixShape: null }, { K: 64, subgroupMatrix: true })).toThrow(
      KernelShapeError,
    );
  });
});

describe('subgroup-matrix WGSL', () => {
  const programs = [
    gemmBf16Program(caps, { K: 96, norm: true, bias: true, writeNormed: true, subgroupMatrix: true, tileTokens: 64 }),
    gemmBf16Program(caps, { K: 4096, bias: true, residual: true, subgroupMatrix: true }),
    moeGroupedMlp1Program(caps, { H: 96, I: 160, E: 8, k: 4, expertsPerPart: 8 }, 40, { subgroupMatrix: true }),
    moeGroupedMlp2Program(caps, { H: 96, I: 160, E: 8, k: 4, expertsPerPart: 4 }, 40, { subgroupMatrix: true }),
    moeGroupedMlp1Program(caps, { H: 96, I: 160, E: 8, k: 4, expertsPerPart: 8 }, 300, { subgroupMatrix: true, tileTokens: 128 }),
  ];

  it.each(programs.map((p) => [p.cacheKey, p] as const))('%s: directives first, uniform fragment offsets', (_k, p) => {
    const text = shaderText(p);
    const lines = text.split('\n');
    const firstDecl = lines.findIndex((l) => /^(@group|struct|var|const|fn)\b/.test(l));
    const lastDirective = lines.reduce((a, l, i) => (/^(enable|diagnostic)\b/.test(l) ? i : a), -1);
    // WGSL requires every directive before the first declaration (a device run failed on exactly this).
    expect(lastDirective).toBeLessThan(firstDecl);
    expect(text).toContain('enable chromium_experimental_subgroup_matrix;');
    // Fragment offsets must derive from the subgroup index, never from the invocation index.
    for (const m of text.matchAll(/subgroupMatrix(?:Load<[^>]+>>|Store)\(&\w+, ([^,]+),/g)) {
      expect(m[1]).not.toMatch(/\blid\b/);
    }
    expect(text).toMatch(/@builtin\(subgroup_id\) sgId: u32/);
  });

  it('broadcast mode reads the subgroup index through subgroupBroadcastFirst', () => {
    const p = gemmBf16Program({ ...caps, subgroupMatrixUniformity: 'broadcast' }, { K: 64, subgroupMatrix: true });
    const text = shaderText(p);
    expect(text).toContain('let sg = subgroupBroadcastFirst(lid >> 5u);');
    expect(text).not.toContain('subgroup_id');
  });
});

describe('subgroup-matrix tiles', () => {
  it('takes 32, 64 or 128 tokens per tile and sizes its workgroup memory', () => {
    for (const TM of [32, 64, 128]) {
      const decl = smatDecls(caps, TM);
      expect(decl).toContain(`const SA = ${TM + 8}u;`);
      // xa + wb (f16, K-major, rows padded by 8) + the 8 subgroups' f32 result staging.
      expect(smatTileBytes(caps, TM)).toBe((TM + 8) * 64 + 136 * 64 + 8 * 256 * 4);
    }
    expect(() => smatDecls(caps, 96)).toThrow(/TM must be 32, 64 or 128, got 96/);
  });

  it('fills tiles two values per conversion and decodes MXFP4 with the f16 bit trick', () => {
    const w = storeHalves('wb', 'SB', 'br', [['v', '8u']]);
    expect(w.match(/pack2x16float/g)).toHaveLength(2);
    for (const k of ['8u', '8u + 1u', '8u + 2u', '8u + 3u']) expect(w).toContain(`wb[(${k}) * SB + br]`);
    const moe = shaderText(moeGroupedMlp1Program(caps, { H: 96, I: 160, E: 8, k: 4, expertsPerPart: 8 }, 40, { subgroupMatrix: true }));
    expect(moe).toContain('fp4h(');
    expect(moe).not.toMatch(/f16\(fp4x2\(/);
    expect(moe).not.toMatch(/xa\[[^\]]+\] = f16\(/);
  });
});
