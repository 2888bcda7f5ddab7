/**
 * When to map a generation step's readback buffer. Dawn for Node polls its events with back-to-back `setImmediate`
 * callbacks while any map is pending, and allocates a fresh JavaScript function per poll: a readback mapped as soon
 * as the next step was submitted kept it polling for most of every step, ~4 MB of garbage per token, and the major
 * collections that followed (3–18 ms) drained the GPU's queue of 3 steps (H100, gpt-oss-20b: bench/RESULTS.md,
 * session 10). The pacer instead estimates when the step will finish and says how long to sleep on a timer first,
 * so the map is pending only for the last fraction of a millisecond.
 *
 * The estimate is of the GPU's own time per step, not of the interval between completions: a step starts when the
 * previous one is done or when it was submitted, whichever is later. (Taking completion intervals as the pace fed
 * back on itself once a pause let the queue run dry — the host's sleeps then set the interval it measured, and
 * 20b decode fell to 28–88 tok/s: session 11.) The estimate is the lower quartile of the last samples: a sample is
 * too long whenever the host was late to see its map resolve (a collection, slow first steps), and an estimate too
 * long is the costly error — the host sleeps while the GPU's queue runs dry — where one too short only polls a little
 * longer; the quartile rather than the least, so that one short sample (a late timer) does not set the pace either.
 * Completions are dated on the GPU's side: a map that resolved after a real wait dates
 * its step; one that resolved at once (the step finished while the host slept or worked) is dated no later than the
 * call, so late timers never push later estimates back. When maps keep finding their step long done, the estimate may
 * be far too long (maps that never wait never measure): the next map is then made at once, as a measurement.
 *
 * Used where the context says so (`GpuContext.pacedReadback`: Dawn in Node); browsers resolve maps from their own
 * event loop.
 */
export class ReadbackPacer {
  /** Submission times of the steps not yet read back, oldest first. */
  private readonly submits: number[] = [];
  private doneLast = Number.NaN;
  private readonly samples: number[] = [];
  private calledAt = 0;
  private slept = false;
  /** Maps in a row that resolved at once after a sleep. */
  private overslept = 0;

  /**
   * @param slackMs map this long before the estimated completion (timers fire late more often than early).
   * @param now the clock, in ms.
   * @param window how many recent steps the estimate is the lower quartile of.
   */
  constructor(
    private readonly slackMs = 0.3,
    private readonly now: () => number = () => performance.now(),
    private readonly window = 16,
  ) {}

  /** Call when a step is submitted (steps are read back in submission order). */
  submitted(): void {
    this.submits.push(this.now());
  }

  /** When the oldest unread step started (or will start) on the GPU, as far as the host can tell. */
  private startOfOldest(): number {
    const s = this.submits.length > 0 ? this.submits[0] : this.calledAt;
    return Number.isNaN(this.doneLast) ? s : Math.max(this.doneLast, s);
  }

  /** Whole milliseconds to sleep before mapping the oldest unread step's readback; 0 to map now. */
  delayMs(): number {
    const step = this.stepMs;
    // Two maps in a row found their step long done: the estimate may be far too long (a GPU that sped up, slow
    // first steps), and maps that never wait never measure. This one maps at once and measures.
    if (!(step > 0) || this.overslept >= 2) return 0;
    const d = Math.floor(this.startOfOldest() + step - this.slackMs - this.now());
    return d >= 1 ? d : 0;
  }

  /** Call right before mapping; `sleptMs` is what the host slept since delayMs (0 if it did not). */
  mapping(sleptMs = 0): void {
    this.calledAt = this.now();
    this.slept = sleptMs > 0;
  }

  /** Call once the map resolved. */
  resolved(): void {
    const r = this.now();
    const start = this.startOfOldest();
    this.submits.shift();
    const step = this.stepMs;
    const waited = r - this.calledAt > 0.1;
    const done = waited ? r : Math.min(this.calledAt, step > 0 ? start + step : this.calledAt);
    if (waited) {
      const sample = r - start;
      // A measurement under half the estimate: the samples before it are stale, start over from it.
      if (step > 0 && sample < step / 2) this.samples.length = 0;
      this.samples.push(sample);
      if (this.samples.length > this.window) this.samples.shift();
      this.overslept = 0;
    } else if (this.slept) this.overslept++;
    this.doneLast = done;
  }

  /** The GPU's estimated time per step (ms), NaN until a map has waited twice. */
  get stepMs(): number {
    if (this.samples.length < 2) return Number.NaN;
    const s = [...this.samples].sort((a, b) => a - b);
    return s[s.length >> 2];
  }
}
