/** How one execution ended. */
export type PythonRunStatus =
  /** The code ran to the end (it may still have raised: the traceback is in `output`). */
  | 'ok'
  /** The time limit was reached and the code was stopped. */
  | 'timeout'
  /** The memory limit was reached (Python's MemoryError, or the sandbox's JS heap). */
  | 'memory'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The sandbox died for another reason (its message is in `output`). */
  | 'crashed';

/** The result of running one piece of code in a sandbox. */
export interface PythonRunResult {
  status: PythonRunStatus;
  /** stdout and stderr interleaved as written, cut at the output limit. */
  output: string;
  /** Characters written beyond the output limit and dropped. */
  droppedChars: number;
  /** The interpreter had to be replaced, so variables, imports and files of earlier calls are gone. */
  stateReset: boolean;
  /** Wall-clock time of the call in milliseconds, queueing excluded. */
  elapsedMs: number;
}

/** Options for one execution. */
export interface PythonRunOptions {
  signal?: AbortSignal;
}

/** A place that runs model-written Python. Implementations serialise calls. */
export interface PythonBackend {
  readonly kind: 'pyodide' | 'docker';
  /** Whether variables survive between calls. */
  readonly stateful: boolean;
  /** Limits the tool reports to the model when a call is stopped. */
  readonly timeoutMs: number;
  readonly memoryLimitMb: number;
  execute(code: string, opts?: PythonRunOptions): Promise<PythonRunResult>;
  /** Starts the sandbox ahead of the first call (optional; `execute` starts it on demand). */
  warmUp(): Promise<void>;
  /** Forgets all state (stateful backends); a no-op for stateless ones. */
  reset(): Promise<void>;
  /** Releases the sandbox. The backend may be used again afterwards (it restarts). */
  close(): Promise<void>;
}

/** Limits shared by every backend. */
export interface PythonSandboxLimits {
  /** Time limit of one call, in milliseconds. Default 60 000 (the seed's Jupyter backend uses 60 s). */
  timeoutMs?: number;
  /** Memory limit of the interpreter, in MiB. Default 512. */
  memoryLimitMb?: number;
  /** stdout+stderr kept per call, in characters. Default 20 000. */
  maxOutputChars?: number;
}

export const DEFAULT_LIMITS: Required<PythonSandboxLimits> = {
  timeoutMs: 60_000,
  memoryLimitMb: 512,
  maxOutputChars: 20_000,
};
