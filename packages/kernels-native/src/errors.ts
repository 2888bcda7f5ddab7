const marker = Symbol.for('gptoss.error');

/** Base class of every error thrown by a gptoss package; `GptossError.isInstance` works across packages. */
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

/** The compiled addon could not be loaded (not built, wrong Node ABI, missing compiler at install time). */
export class NativeAddonUnavailableError extends GptossError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(
      `native addon not built: ${reason}; install a C++ compiler and run pnpm rebuild @gptoss/kernels-native`,
      options,
    );
    this.name = 'NativeAddonUnavailableError';
  }
}

/** A kernel was called with shapes or buffers that do not fit together. */
export class KernelArgumentError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelArgumentError';
  }
}
