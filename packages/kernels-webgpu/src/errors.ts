const marker = Symbol.for('gptoss.error');

/** Base class shared (by marker) with every @gptoss package, so `GptossError.isInstance(e)` works across them. */
export class GptossError extends Error {
  private readonly [marker] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GptossError';
  }
  static isInstance(e: unknown): e is GptossError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[marker] === true;
  }
}

/** No WebGPU adapter, or one that lacks what a kernel needs. */
export class WebGpuUnavailableError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebGpuUnavailableError';
  }
}

/** A shape, size or option that the kernels cannot handle. */
export class KernelShapeError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelShapeError';
  }
}
