const marker = Symbol.for('gptoss.error');

/**
 * Base class of every error thrown by a gptoss package. Each package carries its own copy; they share one
 * `Symbol.for` marker so `GptossError.isInstance(e)` works across packages (and across duplicated installs).
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

/** A tool was called or configured in a way it cannot handle (wrong recipient, bad options, channel clash). */
export class ToolError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/**
 * A tool produced a reply on a channel other than the one of the message that called it (SPEC §5.1: a reply either
 * inherits the caller's channel or must equal it).
 */
export class ToolChannelMismatchError extends ToolError {
  constructor(
    readonly replyChannel: string | undefined,
    readonly callerChannel: string | undefined,
  ) {
    super(
      `Messages from a tool must be on the channel of the message that called it: expected ` +
        `${JSON.stringify(callerChannel ?? null)}, found ${JSON.stringify(replyChannel ?? null)}. ` +
        `Leave the reply's channel unset so it inherits the caller's.`,
    );
    this.name = 'ToolChannelMismatchError';
  }
}

/** A requested sandbox/backend cannot run here (no Docker engine, Pyodide missing, …). */
export class BackendUnavailableError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/**
 * A patch could not be parsed or applied (the seed's `DiffError`). `message` is the exact text the model sees after
 * `Error applying patch: `, so it follows SPEC §5.4 word for word instead of the usual expected/found/fix shape.
 */
export class PatchError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PatchError';
  }
}

/** A patch path points outside the editor's root (`..`, an absolute path, or a symlink leading out). */
export class PathEscapeError extends PatchError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`Path escapes the workspace root: ${path} (${reason}). Use a path relative to the root, without '..'.`);
    this.name = 'PathEscapeError';
  }
}
