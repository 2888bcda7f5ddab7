/**
 * When to map a generation step's readback buffer. Dawn for Node polls its events with back-to-back `setImmediate`
 * callbacks while any map is pending, and allocates a fresh JavaScript function per poll: a readback mapped as soon
 * as the next step was submitted kept it polling for most of every step, ~4 MB of garbage per token, and the major
 * collections that followed (3–18 ms) drained the GPU's queue of 3 steps (H100, gpt-oss-20b: bench/RESULTS.md,
 * session 10). The pacer instead estimates when the step will finish from the GPU's pace so far and says how long
 * to sleep on a timer first, so the map is pending only for the last fraction of a millisecond.
 *
 * Used where the context says so (`GpuContext.pacedReadback`: Dawn in Node); browsers resolve maps from their own
 * event loop. Its estimate follows the GPU's timeline rather than the host's: a map that resolved after a real wait dates the
 * step's completion; one that resolved at once (the step had finished while the host slept or worked) is dated no
 * later than the call, so sleeping late never pushes later estimates back.
 */
export class ReadbackPacer {
  private doneLast = Number.NaN;
  private period = Number.NaN;
  private calledAt = 0;

  /**
   * @param slackMs map this long before the estimated completion (timers fire late more often than early).
   * @param now the clock, in ms.
   */
  constructor(
    private readonly slackMs = 0.3,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whole milliseconds to sleep before mapping the next step's readback; 0 to map now. */
  delayMs(): number {
    if (!(this.period > 0) || Number.isNaN(this.doneLast)) return 0;
    const d = Math.floor(this.doneLast + this.period - this.slackMs - this.now());
    return d >= 1 ? d : 0;
  }

  /** Call right before mapping. */
  mapping(): void {
    this.calledAt = this.now();
  }

  /** Call once the map resolved. */
  resolved(): void {
    const r = this.now();
    const waited = r - this.calledAt > 0.25;
    const expected = Number.isNaN(this.doneLast) || Number.isNaN(this.period) ? this.calledAt : this.doneLast + this.period;
    const done = waited ? r : Math.min(this.calledAt, expected);
    if (waited && !Number.isNaN(this.doneLast)) {
      const interval = done - this.doneLast;
      this.period = Number.isNaN(this.period) ? interval : 0.75 * this.period + 0.25 * interval;
    }
    this.doneLast = done;
  }

  /** The GPU's estimated time per step (ms), NaN until a map has waited twice. */
  get stepMs(): number {
    return this.period;
  }
}
