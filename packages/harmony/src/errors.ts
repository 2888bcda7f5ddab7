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

const harmonyMarker = Symbol.for('gptoss.harmony.error');

/** Base class of every error thrown by `@gptoss/harmony`. */
export class HarmonyError extends GptossError {
  private readonly [harmonyMarker] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarmonyError';
  }

  static override isInstance(e: unknown): e is HarmonyError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[harmonyMarker] === true;
  }
}

/** A message or conversation cannot be rendered (wrong content for the role, a tool without a name, …). */
export class HarmonyRenderError extends HarmonyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarmonyRenderError';
  }
}

/** A completion token stream does not follow the harmony grammar (strict parsing only). */
export class HarmonyParseError extends HarmonyError {
  /** Index of the offending token in the stream, when known. */
  readonly tokenIndex: number | undefined;

  constructor(message: string, options?: { cause?: unknown; tokenIndex?: number }) {
    super(message, options);
    this.name = 'HarmonyParseError';
    this.tokenIndex = options?.tokenIndex;
  }
}

/** Tokens cannot be decoded: an unknown token id, or bytes that are not valid UTF-8 (`decodeUtf8`). */
export class HarmonyDecodeError extends HarmonyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarmonyDecodeError';
  }
}

/** Text cannot be encoded: it contains special-token text that was not allowed. */
export class HarmonyEncodeError extends HarmonyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarmonyEncodeError';
  }
}

/** A JSON object is not a valid harmony message/conversation/content (`fromJSON`). */
export class HarmonyValidationError extends HarmonyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarmonyValidationError';
  }
}
