const marker = Symbol.for('gptoss.error');

/**
 * Base class of every error thrown by gptoss packages. Each package keeps its own copy of this class;
 * they share one `Symbol.for` marker so `GptossError.isInstance(e)` works across package copies.
 */
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

const formatMarker = Symbol.for('gptoss.mxfp4.safetensors-format-error');

/**
 * A safetensors file, index or tensor spec is malformed or does not match what was asked for.
 * The message names the file, the tensor (when there is one), what was expected and what was found.
 */
export class SafetensorsFormatError extends GptossError {
  private readonly [formatMarker] = true;
  /** The file the problem was found in, when there is one. */
  readonly file: string | undefined;
  /** The tensor the problem concerns, when there is one. */
  readonly tensor: string | undefined;

  constructor(message: string, options?: { cause?: unknown; file?: string; tensor?: string }) {
    super(message, options);
    this.name = 'SafetensorsFormatError';
    this.file = options?.file;
    this.tensor = options?.tensor;
  }

  static override isInstance(e: unknown): e is SafetensorsFormatError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[formatMarker] === true;
  }
}

const codecMarker = Symbol.for('gptoss.mxfp4.codec-error');

/** Arguments to a codec (dequantize, quantize, re-layout, float conversion) have the wrong sizes or shapes. */
export class Mxfp4CodecError extends GptossError {
  private readonly [codecMarker] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Mxfp4CodecError';
  }

  static override isInstance(e: unknown): e is Mxfp4CodecError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[codecMarker] === true;
  }
}
