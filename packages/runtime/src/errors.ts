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

/** One problem found while validating a checkpoint. */
export interface CheckpointProblem {
  kind: 'missing-file' | 'bad-config' | 'missing-tensor' | 'wrong-shape' | 'wrong-dtype' | 'truncated' | 'unreadable';
  /** Tensor name or config key the problem is about, when there is one. */
  subject?: string;
  message: string;
}

/**
 * The checkpoint directory (or its config.json) is not a usable gpt-oss checkpoint. `problems` lists everything
 * that was found wrong, so one run tells the user all there is to fix.
 */
export class CheckpointFormatError extends GptossError {
  readonly problems: CheckpointProblem[];
  readonly path: string;
  constructor(path: string, problems: CheckpointProblem[], options?: { cause?: unknown }) {
    const shown = problems.slice(0, 20).map((p) => `  - ${p.message}`);
    if (problems.length > 20) shown.push(`  - … and ${problems.length - 20} more`);
    super(
      `${path} is not a valid gpt-oss checkpoint (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        `${shown.join('\n')}\n` +
        'Expected the original/ layout (config.json + *.safetensors with block.N.* tensors) or the Hugging Face ' +
        'layout (config.json with model_type "gpt_oss" + model.layers.N.* tensors). Re-download the checkpoint ' +
        '(huggingface.co/openai/gpt-oss-20b) or recreate it with `gptoss create-model`.',
      options,
    );
    this.name = 'CheckpointFormatError';
    this.problems = problems;
    this.path = path;
  }
}

/** A backend that was asked for by name cannot run here; `reason` says why. */
export class BackendUnavailableError extends GptossError {
  readonly backend: string;
  readonly reason: string;
  constructor(backend: string, reason: string, options?: { cause?: unknown }) {
    super(
      `backend "${backend}" is not available: ${reason}. Choose another one with --backend ` +
        '(reference always works) or leave it out to use the fastest available.',
      options,
    );
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.reason = reason;
  }
}

/** A caller passed an argument the runtime cannot use (bad token id, sequence past the context, …). */
export class InvalidArgumentError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidArgumentError';
  }
}
