import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DEFAULT_LIMITS } from './backend.js';
import type { PythonBackend, PythonRunOptions, PythonRunResult, PythonRunStatus, PythonSandboxLimits } from './backend.js';

/** Options of {@link DockerBackend}. */
export interface DockerBackendOptions extends PythonSandboxLimits {
  /** Image with `python` on PATH. Default `python:3.12-slim`. */
  image?: string;
  /** The docker CLI. Default `docker` (from PATH). */
  dockerPath?: string;
  /** CPUs the container may use. Default 1. */
  cpus?: number;
}

/** Whether a Docker engine answers, and why not when it does not. */
export interface DockerAvailability {
  available: boolean;
  /** Engine version when available; the CLI's complaint (or the spawn error) when not. */
  detail: string;
}

interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  dropped: number;
  error?: Error;
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; maxChars?: number; onTimeout?: () => void; signal?: AbortSignal },
): Promise<Spawned & { timedOut: boolean; aborted: boolean }> {
  return new Promise((resolve) => {
    // The CLI gets the host environment (DOCKER_HOST, DOCKER_CONTEXT, HOME for its config); the container does not:
    // `docker run` passes no variables unless told to.
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const maxChars = opts.maxChars ?? Infinity;
    let output = '';
    let dropped = 0;
    let timedOut = false;
    let aborted = false;
    let spawnError: Error | undefined;
    const take = (text: string) => {
      const room = maxChars - output.length;
      if (room >= text.length) output += text;
      else {
        output += text.slice(0, Math.max(0, room));
        dropped += text.length - Math.max(0, room);
      }
    };
    // setEncoding gives each stream its own decoder, so a UTF-8 sequence split across chunks stays whole.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => (spawnError = e));
    const stop = () => {
      opts.onTimeout?.();
      child.kill('SIGKILL');
    };
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, output, dropped, timedOut, aborted, ...(spawnError ? { error: spawnError } : {}) });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Asks the Docker engine for its version (`docker info`). The CLI alone is not enough: without a running daemon
 * it answers "Cannot connect to the Docker daemon".
 */
export async function detectDocker(opts: { dockerPath?: string; timeoutMs?: number } = {}): Promise<DockerAvailability> {
  const r = await run(opts.dockerPath ?? 'docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs: opts.timeoutMs ?? 5000,
    maxChars: 4000,
  });
  if (r.error) return { available: false, detail: `${opts.dockerPath ?? 'docker'}: ${r.error.message}` };
  if (r.timedOut) return { available: false, detail: '`docker info` did not answer in time' };
  const detail = r.output.trim();
  if (r.code !== 0 || detail === '') return { available: false, detail: detail || `docker info exited with ${r.code}` };
  return { available: true, detail };
}

/**
 * The seed's backend, hardened: every call runs in a fresh container with no network, a memory cap (swap
 * included), a CPU share, a CPU-time ulimit, a process limit, a read-only root with a small /tmp, no capabilities
 * and an unprivileged user. The container is killed by name when the time limit is reached. Stateless only.
 */
export class DockerBackend implements PythonBackend {
  readonly kind = 'docker';
  readonly stateful = false;
  readonly timeoutMs: number;
  readonly memoryLimitMb: number;
  readonly maxOutputChars: number;
  readonly image: string;
  private readonly dockerPath: string;
  private readonly cpus: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: DockerBackendOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
    this.memoryLimitMb = opts.memoryLimitMb ?? DEFAULT_LIMITS.memoryLimitMb;
    this.maxOutputChars = opts.maxOutputChars ?? DEFAULT_LIMITS.maxOutputChars;
    this.image = opts.image ?? 'python:3.12-slim';
    this.dockerPath = opts.dockerPath ?? 'docker';
    this.cpus = opts.cpus ?? 1;
  }

  /** The `docker run` arguments for one call (exposed for tests and for users auditing the sandbox). */
  runArgs(containerName: string): string[] {
    const cpuSeconds = Math.max(1, Math.ceil(this.timeoutMs / 1000));
    return [
      'run',
      '--rm',
      '-i',
      '--name',
      containerName,
      '--network',
      'none',
      '--memory',
      `${this.memoryLimitMb}m`,
      '--memory-swap',
      `${this.memoryLimitMb}m`,
      '--cpus',
      String(this.cpus),
      '--pids-limit',
      '64',
      '--ulimit',
      `cpu=${cpuSeconds}:${cpuSeconds}`,
      '--read-only',
      '--tmpfs',
      '/tmp:rw,size=64m',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--user',
      '65534:65534',
      '--workdir',
      '/tmp',
      '--env',
      'PYTHONUNBUFFERED=1',
      this.image,
      'python',
      '-',
    ];
  }

  warmUp(): Promise<void> {
    return Promise.resolve();
  }

  reset(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.queue;
  }

  execute(code: string, opts: PythonRunOptions = {}): Promise<PythonRunResult> {
    const job = this.queue.then(() => this.executeNow(code, opts));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async executeNow(code: string, opts: PythonRunOptions): Promise<PythonRunResult> {
    const started = performance.now();
    const name = `gptoss-python-${randomUUID()}`;
    const kill = () => {
      // Killing the CLI does not stop the container; ask the engine to.
      void run(this.dockerPath, ['kill', name], { timeoutMs: 10_000 });
    };
    const r = await run(this.dockerPath, this.runArgs(name), {
      input: code,
      timeoutMs: this.timeoutMs,
      maxChars: this.maxOutputChars,
      onTimeout: kill,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let status: PythonRunStatus = 'ok';
    let output = r.output;
    if (r.aborted) status = 'aborted';
    else if (r.timedOut || r.code === 152 /* SIGXCPU: the CPU-time ulimit */) status = 'timeout';
    else if (r.code === 137) status = 'memory';
    else if (r.error) {
      status = 'crashed';
      output += `${r.error.message}\n`;
    } else if (r.code === 125) status = 'crashed'; // docker itself failed; its message is in the output
    return { status, output, droppedChars: r.dropped, stateReset: false, elapsedMs: performance.now() - started };
  }
}
