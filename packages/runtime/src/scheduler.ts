import type { LoadedModel, Sequence } from './backend/types.js';

type Job =
  | { kind: 'decode'; sequence: Sequence; token: number; resolve: (v: Float32Array) => void; reject: (e: unknown) => void }
  | { kind: 'task'; run: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/**
 * Serialises every call to a LoadedModel (backends need no locking) and merges decode steps that are waiting at the
 * same time, from different sequences, into one batched `decode` call. Concurrent generations therefore share
 * each weight read instead of taking turns.
 */
export class Scheduler {
  readonly #jobs: Job[] = [];
  #running = false;
  /** Sizes of the decode batches issued so far (for tests and stats). */
  readonly batchSizes: number[] = [];

  constructor(
    readonly loaded: LoadedModel,
    readonly maxBatch = 16,
  ) {}

  /** Runs `run` alone, in queue order. */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({ kind: 'task', run, resolve: resolve as (v: unknown) => void, reject });
      this.#kick();
    });
  }

  /**
   * Waits for the model alone, in queue order, and keeps it until the returned function is called (a token stream
   * that hands each token to its consumer while it holds the device).
   */
  hold(): Promise<() => void> {
    return new Promise((acquired) => {
      void this.exclusive(() => new Promise<void>((release) => acquired(release)));
    });
  }

  /** Jobs queued and not started (work that a holder may want to let through). */
  get waiting(): number {
    return this.#jobs.length;
  }

  /** One decode step of one sequence; batched with other sequences' pending steps. */
  decode(sequence: Sequence, token: number): Promise<Float32Array> {
    return new Promise<Float32Array>((resolve, reject) => {
      this.#jobs.push({ kind: 'decode', sequence, token, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    // Wait one macrotask so that every generation that is about to ask for its next step has done so.
    setImmediate(() => void this.#pump());
  }

  async #pump(): Promise<void> {
    try {
      while (this.#jobs.length > 0) {
        const head = this.#jobs[0];
        if (head.kind === 'task') {
          this.#jobs.shift();
          try {
            head.resolve(await head.run());
          } catch (e) {
            head.reject(e);
          }
          continue;
        }
        const batch: Extract<Job, { kind: 'decode' }>[] = [];
        for (let i = 0; i < this.#jobs.length && batch.length < this.maxBatch; ) {
          const j = this.#jobs[i];
          if (j.kind === 'decode' && !batch.some((b) => b.sequence === j.sequence)) {
            batch.push(j);
            this.#jobs.splice(i, 1);
          } else {
            i++;
          }
        }
        this.batchSizes.push(batch.length);
        try {
          const out = await this.loaded.decode(batch.map((b) => ({ sequence: b.sequence, token: b.token })));
          const V = out.length / batch.length;
          batch.forEach((b, i) => b.resolve(batch.length === 1 ? out : out.slice(i * V, (i + 1) * V)));
        } catch (e) {
          batch.forEach((b) => b.reject(e));
        }
      }
    } finally {
      this.#running = false;
      if (this.#jobs.length > 0) this.#kick();
    }
  }
}
