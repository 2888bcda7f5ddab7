import { ToolNamespaceConfig } from '@gptoss/harmony';
import type { Message } from '@gptoss/harmony';
import { ToolError } from '../errors.js';
import { BaseTool, messageText, toolMessage } from '../tool.js';
import type { ToolProcessOptions } from '../tool.js';
import type { PythonBackend, PythonRunResult } from './backend.js';
import { NO_OUTPUT_WARNING, STATELESS_PYTHON_DESCRIPTION } from './descriptions.js';
import { DockerBackend, detectDocker } from './docker-backend.js';
import type { DockerBackendOptions } from './docker-backend.js';
import { PyodideBackend } from './pyodide-backend.js';
import type { PyodideBackendOptions } from './pyodide-backend.js';

/** Which sandbox runs the code. `auto`: Docker when an engine answers and the tool is stateless, else Pyodide. */
export type PythonBackendChoice = 'auto' | 'pyodide' | 'docker';

/** Options of {@link PythonTool} and {@link selectPythonBackend}. */
export interface PythonToolOptions extends PyodideBackendOptions {
  /** Default: `PYTHON_EXECUTION_BACKEND` from the environment (`pyodide`/`docker`) if set, else `auto`. */
  backend?: PythonBackendChoice;
  /** Extra options for the Docker backend. */
  docker?: DockerBackendOptions;
}

/** The backend {@link selectPythonBackend} picked and why. */
export interface BackendSelection {
  backend: PythonBackend;
  reason: string;
}

/**
 * Chooses and builds the sandbox. Docker is used only when asked for (or in `auto` mode) and `docker info` answers;
 * stateful mode always uses Pyodide (one interpreter kept in memory).
 */
export async function selectPythonBackend(opts: PythonToolOptions = {}): Promise<BackendSelection> {
  const envChoice = process.env.PYTHON_EXECUTION_BACKEND;
  const choice: PythonBackendChoice =
    opts.backend ?? (envChoice === 'pyodide' || envChoice === 'docker' ? envChoice : 'auto');
  const limits = {
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.memoryLimitMb !== undefined ? { memoryLimitMb: opts.memoryLimitMb } : {}),
    ...(opts.maxOutputChars !== undefined ? { maxOutputChars: opts.maxOutputChars } : {}),
  };
  if (choice === 'pyodide') return { backend: new PyodideBackend(opts), reason: 'pyodide was requested' };
  if (opts.stateful) {
    if (choice === 'docker') {
      throw new ToolError(
        'The Docker python backend is stateless (a fresh container per call), but stateful mode was requested. ' +
          'Use backend "pyodide" for stateful mode.',
      );
    }
    return { backend: new PyodideBackend(opts), reason: 'stateful mode needs a long-lived interpreter: pyodide' };
  }
  const docker = await detectDocker(opts.docker?.dockerPath !== undefined ? { dockerPath: opts.docker.dockerPath } : {});
  if (docker.available) {
    return {
      backend: new DockerBackend({ ...limits, ...opts.docker }),
      reason: `docker engine ${docker.detail} answers`,
    };
  }
  if (choice === 'docker') {
    throw new ToolError(
      `The Docker python backend was requested, but no Docker engine answers (${docker.detail}). ` +
        'Start the Docker daemon, or use backend "pyodide".',
    );
  }
  return { backend: new PyodideBackend(opts), reason: `docker unavailable (${docker.detail}): pyodide` };
}

/**
 * gpt-oss's `python` tool (SPEC §5.3) over a sandbox. The model's message carries raw code; the reply is one
 * `python` message with the output, `[WARN] No output available…` when there is none, or an `[ERROR] …` line
 * when the time or memory limit stopped the code.
 *
 * @example
 * ```ts
 * const python = new PythonTool();
 * const call = Message.fromRoleAndContent('assistant', 'print(6 * 7)').withChannel('analysis').withRecipient('python');
 * for await (const reply of python.process(call)) console.log(reply.content[0]); // { type: 'text', text: '42\n' }
 * await python.close();
 * ```
 */
export class PythonTool extends BaseTool {
  readonly name = 'python';
  readonly backend: PythonBackend;

  /** Uses the given backend, or a Pyodide sandbox built from `opts` (use {@link PythonTool.create} for `auto`). */
  constructor(backendOrOptions: PythonBackend | PyodideBackendOptions = {}) {
    super();
    this.backend = isBackend(backendOrOptions) ? backendOrOptions : new PyodideBackend(backendOrOptions);
  }

  /** Builds the tool with {@link selectPythonBackend}. */
  static async create(opts: PythonToolOptions = {}): Promise<PythonTool> {
    return new PythonTool((await selectPythonBackend(opts)).backend);
  }

  get stateful(): boolean {
    return this.backend.stateful;
  }

  /**
   * Stateless: the seed's description (it promises a fresh environment per call, which every backend here keeps).
   * Stateful: harmony's built-in description, the one the model was trained with.
   */
  toolConfig(): ToolNamespaceConfig {
    return this.stateful ? ToolNamespaceConfig.python() : new ToolNamespaceConfig('python', STATELESS_PYTHON_DESCRIPTION, []);
  }

  protected async *run(message: Message, opts: ToolProcessOptions): AsyncIterable<Message> {
    const code = messageText(message);
    const result = await this.backend.execute(code, opts.signal ? { signal: opts.signal } : {});
    yield toolMessage(this.name, formatPythonResult(result, this.backend), { channel: message.channel });
  }

  /** Starts the sandbox now instead of on the first call. */
  warmUp(): Promise<void> {
    return this.backend.warmUp();
  }

  /** Forgets the conversation's variables (stateful mode). */
  reset(): Promise<void> {
    return this.backend.reset();
  }

  /** Releases the sandbox (the worker or container). */
  close(): Promise<void> {
    return this.backend.close();
  }
}

function isBackend(x: unknown): x is PythonBackend {
  return typeof x === 'object' && x !== null && typeof (x as PythonBackend).execute === 'function';
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}` : s.toFixed(1);
}

/** The reply text for one execution: what the model reads. */
export function formatPythonResult(
  r: PythonRunResult,
  limits: Pick<PythonBackend, 'stateful' | 'timeoutMs' | 'memoryLimitMb'>,
): string {
  let out = r.output;
  if (r.droppedChars > 0) {
    out += `${out.endsWith('\n') || out === '' ? '' : '\n'}[WARN] Output truncated: ${r.droppedChars} more characters were not shown.\n`;
  }
  if (r.status === 'ok') return out.trim() === '' ? NO_OUTPUT_WARNING : out;

  let error: string;
  switch (r.status) {
    case 'timeout':
      error = `[ERROR] Execution timed out after ${seconds(limits.timeoutMs)} seconds and was stopped.`;
      break;
    case 'memory':
      error = `[ERROR] Execution ran out of memory (limit ${limits.memoryLimitMb} MiB) and was stopped.`;
      break;
    case 'aborted':
      error = '[ERROR] Execution was cancelled.';
      break;
    default:
      error = '[ERROR] The Python sandbox crashed.';
  }
  if (limits.stateful) {
    error += r.stateReset
      ? ' The Python state was reset: variables, imports and files from earlier calls are gone.'
      : ' Variables from earlier calls are kept.';
  }
  const sep = out === '' || out.endsWith('\n') ? '' : '\n';
  return `${out}${sep}${error}`;
}
