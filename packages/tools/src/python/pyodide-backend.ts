import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { BackendUnavailableError } from '../errors.js';
import { DEFAULT_LIMITS } from './backend.js';
import type { PythonBackend, PythonRunOptions, PythonRunResult, PythonSandboxLimits, PythonRunStatus } from './backend.js';

/** Options of {@link PyodideBackend}. */
export interface PyodideBackendOptions extends PythonSandboxLimits {
  /** Keep one interpreter and its variables across calls (Jupyter-like). Default false: every call starts clean. */
  stateful?: boolean;
  /** After the time limit, how long a SIGINT may take to stop the code before the worker is killed. Default 1000. */
  interruptGraceMs?: number;
  /** V8 old-generation heap of the worker, in MiB (Pyodide's JS side; Python lives in WASM memory). Default 256. */
  jsHeapLimitMb?: number;
  /**
   * Boot workers from a memory snapshot of a fresh interpreter, made once per process by the first worker before
   * any code runs in it (~30 MB kept in memory). Cuts later cold starts (respawns, new conversations) from seconds
   * to well under one. Uses Pyodide's private snapshot API and falls back to a normal boot. Default true.
   */
  snapshot?: boolean;
}

// One snapshot per process, shared by every PyodideBackend. Each worker gets its own copy (never shared memory:
// a sandbox must not be able to write what the next one boots from).
let bootSnapshot: Uint8Array | undefined;
let snapshotMaker: LiveWorker | undefined;

interface WorkerResult {
  type: 'result';
  id: number;
  status: 'ok' | 'interrupted' | 'memory' | 'crash';
  output: string;
  dropped: number;
}

interface LiveWorker {
  worker: Worker;
  interrupt: Int32Array;
  /** Resolves when Pyodide has loaded inside the worker. */
  ready: Promise<number>;
  /** Set once the worker has exited or failed. */
  dead: boolean;
  /** Callers waiting on the worker; while > 0 it keeps the process alive, otherwise it is unref'd. */
  holds: number;
}

function workerScript(): URL {
  // `src/python/` when running from source, `dist/` (copied there by tsup) when running the build.
  const candidates = [new URL('./pyodide-worker.mjs', import.meta.url), new URL('./python/pyodide-worker.mjs', import.meta.url)];
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (found === undefined) {
    throw new BackendUnavailableError(
      `Expected the Pyodide worker script next to the @gptoss/tools module (${fileURLToPath(candidates[0]!)}), ` +
        'found nothing. Reinstall @gptoss/tools; a bundler must copy pyodide-worker.mjs alongside it.',
    );
  }
  return found;
}

// V8 decides whether a realm may compile code from strings when the realm is created, from a process-wide flag.
// The flag is raised only while sandbox workers are being created, so the host process keeps `eval` while
// the worker's realm never has it; a JsProxy's `.constructor.constructor(...)` then cannot become arbitrary JS.
let workersStarting = 0;
let hostAllowsCodegen = true;
function withCodegenDisallowed<T>(start: () => T, online: Promise<unknown>): T {
  if (workersStarting++ === 0) {
    // A host started with the flag (or otherwise without eval) keeps it: never switch code generation on for it.
    try {
      new Function('');
      hostAllowsCodegen = true;
    } catch {
      hostAllowsCodegen = false;
    }
    v8.setFlagsFromString('--disallow-code-generation-from-strings');
  }
  const release = () => {
    if (--workersStarting === 0 && hostAllowsCodegen) v8.setFlagsFromString('--no-disallow-code-generation-from-strings');
  };
  try {
    const result = start();
    online.then(release, release);
    return result;
  } catch (e) {
    release();
    throw e;
  }
}

/**
 * Runs Python in Pyodide (CPython compiled to WebAssembly) inside a `worker_threads` Worker: no host filesystem,
 * no network, no JS bridge, a memory cap on the WASM heap and V8 heap, and a time limit (SIGINT, then the worker is
 * terminated and a fresh one started).
 */
export class PyodideBackend implements PythonBackend {
  readonly kind = 'pyodide';
  readonly stateful: boolean;
  readonly timeoutMs: number;
  readonly memoryLimitMb: number;
  readonly maxOutputChars: number;
  private readonly interruptGraceMs: number;
  private readonly jsHeapLimitMb: number;
  private readonly useSnapshot: boolean;
  private live: LiveWorker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  /** Load time of the most recent worker, in milliseconds (cold start). */
  lastLoadMs: number | undefined;

  constructor(opts: PyodideBackendOptions = {}) {
    this.stateful = opts.stateful ?? false;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
    this.memoryLimitMb = opts.memoryLimitMb ?? DEFAULT_LIMITS.memoryLimitMb;
    this.maxOutputChars = opts.maxOutputChars ?? DEFAULT_LIMITS.maxOutputChars;
    this.interruptGraceMs = opts.interruptGraceMs ?? 1000;
    this.jsHeapLimitMb = opts.jsHeapLimitMb ?? 256;
    this.useSnapshot = opts.snapshot ?? true;
  }

  async warmUp(): Promise<void> {
    const lw = this.ensureWorker();
    await this.holding(lw, () => lw.ready);
  }

  /** Keeps the process alive while `fn` waits on the worker; an idle sandbox never holds a program open. */
  private async holding<T>(lw: LiveWorker, fn: () => Promise<T>): Promise<T> {
    if (lw.holds++ === 0) lw.worker.ref();
    try {
      return await fn();
    } finally {
      if (--lw.holds === 0) lw.worker.unref();
    }
  }

  execute(code: string, opts: PythonRunOptions = {}): Promise<PythonRunResult> {
    const run = this.queue.then(() => this.executeNow(code, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  reset(): Promise<void> {
    const run = this.queue.then(async () => {
      const lw = this.live;
      if (lw === undefined || lw.dead) return;
      await lw.ready;
      const id = this.nextId++;
      await new Promise<void>((resolve) => {
        const onMessage = (m: { type: string; id: number }) => {
          if (m.type === 'reset-done' && m.id === id) {
            lw.worker.off('message', onMessage);
            resolve();
          }
        };
        lw.worker.on('message', onMessage);
        lw.worker.postMessage({ type: 'reset', id });
      });
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    const lw = this.live;
    this.live = undefined;
    if (lw !== undefined && !lw.dead) {
      lw.dead = true;
      await lw.worker.terminate();
    }
  }

  private ensureWorker(): LiveWorker {
    if (this.live !== undefined && !this.live.dead) return this.live;
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const makeSnapshot = this.useSnapshot && bootSnapshot === undefined && (snapshotMaker === undefined || snapshotMaker.dead);
    let markOnline!: () => void;
    const online = new Promise<void>((r) => (markOnline = r));
    const worker = withCodegenDisallowed(
      () =>
        new Worker(workerScript(), {
          workerData: {
            memoryLimitBytes: this.memoryLimitMb * 1024 * 1024,
            maxOutputChars: this.maxOutputChars,
            interruptBuffer: interrupt,
            stateful: this.stateful,
            snapshot: this.useSnapshot ? bootSnapshot : undefined,
            makeSnapshot,
          },
          resourceLimits: { maxOldGenerationSizeMb: this.jsHeapLimitMb },
          // The worker must not see the host's environment variables.
          env: {},
        }),
      online,
    );
    worker.once('online', markOnline);
    const lw: LiveWorker = { worker, interrupt, dead: false, holds: 0, ready: undefined as unknown as Promise<number> };
    if (makeSnapshot) snapshotMaker = lw;
    lw.ready = new Promise<number>((resolve, reject) => {
      const onMessage = (m: { type: string; loadMs: number; bytes?: Uint8Array }) => {
        if (m.type === 'snapshot') {
          if (m.bytes !== undefined) bootSnapshot = m.bytes;
          if (snapshotMaker === lw) snapshotMaker = undefined;
        } else if (m.type === 'ready') {
          worker.off('message', onMessage);
          this.lastLoadMs = m.loadMs;
          resolve(m.loadMs);
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (e) => {
        lw.dead = true;
        markOnline();
        reject(new BackendUnavailableError(`The Pyodide sandbox failed to start: ${e.message}`, { cause: e }));
      });
      worker.once('exit', (code) => {
        lw.dead = true;
        markOnline();
        reject(new BackendUnavailableError(`The Pyodide sandbox exited with code ${code} before it was ready.`));
      });
    });
    lw.ready.catch(() => undefined);
    worker.unref();
    this.live = lw;
    return lw;
  }

  private executeNow(code: string, opts: PythonRunOptions): Promise<PythonRunResult> {
    const lw = this.ensureWorker();
    return this.holding(lw, () => this.executeOn(lw, code, opts));
  }

  private async executeOn(lw: LiveWorker, code: string, opts: PythonRunOptions): Promise<PythonRunResult> {
    await lw.ready;
    const started = performance.now();
    const id = this.nextId++;
    const { worker, interrupt } = lw;
    return new Promise<PythonRunResult>((resolve) => {
      let stopReason: 'timeout' | 'aborted' | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      let resendTimer: NodeJS.Timeout | undefined;
      const done = (r: Omit<PythonRunResult, 'elapsedMs'>) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        clearInterval(resendTimer);
        opts.signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve({ ...r, elapsedMs: performance.now() - started });
      };
      const kill = (status: PythonRunStatus, output: string) => {
        lw.dead = true;
        void worker.terminate();
        if (this.live === lw) this.live = undefined;
        done({ status, output, droppedChars: 0, stateReset: true });
        // Start the replacement now so the next call does not pay the cold start.
        this.ensureWorker().ready.catch(() => undefined);
      };
      const stop = (reason: 'timeout' | 'aborted') => {
        if (stopReason !== undefined) return;
        stopReason = reason;
        // SIGINT: Python raises KeyboardInterrupt at its next check of the buffer. A check made where exceptions
        // are swallowed (a finalizer, a bare `except`) clears the flag without stopping the code, so re-raise it.
        Atomics.store(interrupt, 0, 2);
        resendTimer = setInterval(() => {
          if (Atomics.load(interrupt, 0) === 0) Atomics.store(interrupt, 0, 2);
        }, 50);
        killTimer = setTimeout(() => kill(reason, ''), this.interruptGraceMs);
      };
      const onAbort = () => stop('aborted');
      const onMessage = (m: WorkerResult) => {
        if (m.type !== 'result' || m.id !== id) return;
        if (m.status === 'crash') {
          // The interpreter itself failed (a fatal error): do not trust it with another call.
          kill('crashed', m.output);
          return;
        }
        let status: PythonRunStatus;
        // A KeyboardInterrupt nobody asked for was raised by the code itself: an ordinary exception.
        if (m.status === 'interrupted') status = stopReason ?? 'ok';
        else if (m.status === 'memory') status = 'memory';
        else status = 'ok';
        done({ status, output: m.output, droppedChars: m.dropped, stateReset: false });
      };
      const onError = (e: Error & { code?: string }) => {
        const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        kill(oom ? 'memory' : 'crashed', oom ? '' : `${e.name}: ${e.message}\n`);
      };
      const onExit = () => kill(stopReason ?? 'crashed', '');
      const timer = setTimeout(() => stop('timeout'), this.timeoutMs);
      if (opts.signal?.aborted) {
        clearTimeout(timer);
        done({ status: 'aborted', output: '', droppedChars: 0, stateReset: false });
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ type: 'run', id, code });
    });
  }
}
