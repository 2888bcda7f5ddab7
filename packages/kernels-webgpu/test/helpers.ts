import { afterAll } from 'vitest';
import { createNodeGpuContext, type GpuContext } from '../src/gpu.js';

export { f16Bits, f16Value, fromHalfPairs, maxAbsDiff, poison, randn, relL2, rng, toBf16, toHalfPairs } from './random.js';

const contexts = new Map<string, Promise<GpuContext | null>>();

/**
 * The test GPU (SwiftShader on CI). Without an adapter the tests fail, unless GPTOSS_ALLOW_NO_GPU=1 is set, in which
 * case `gpu()` returns null and callers skip.
 */
export function gpu(shapes: 'auto' | 'gpu' | 'cpu' = 'auto'): Promise<GpuContext | null> {
  let c = contexts.get(shapes);
  if (!c) {
    c = createNodeGpuContext({ fast: process.env.GPTOSS_WEBGPU_FAST !== '0', kernelShapes: shapes }).catch(
      (e: unknown) => {
        if (process.env.GPTOSS_ALLOW_NO_GPU === '1') return null;
        throw e;
      },
    );
    contexts.set(shapes, c);
  }
  return c;
}

/** Both kernel shapes: the GPU one (workgroup-cooperative) and the row-per-invocation one. */
export const SHAPES = ['gpu', 'cpu'] as const;

afterAll(async () => {
  for (const c of contexts.values()) (await c.catch(() => null))?.destroy();
  contexts.clear();
});

