const marker = Symbol.for('gptoss.error');

/** Base of every gptoss error; `GptossError.isInstance` works across packages and copies. */
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

/** An HTTP-level error with the OpenAI error body shape (`{error: {message, type, param, code}}`). */
export class ApiError extends GptossError {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  toBody() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
