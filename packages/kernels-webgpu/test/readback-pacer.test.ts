import { describe, expect, test } from 'vitest';
import { ReadbackPacer } from '../src/model/readback-pacer.js';

interface Sim {
  gpuMs: number | ((step: number) => number);
  /** Host time to record and submit a step. */
  recordMs: number;
  /** Host time per token after its readback (the consumer). */
  hostMs: number;
  depth: number;
  steps: number;
  timerLateMs?: number;
  /** Time from a step's completion (or the map call, if later) to the map's resolution (event polling). */
  tickMs?: number;
  /** A host pause (e.g. a major GC) of `ms` after token `at`. */
  pause?: { at: number; ms: number };
}

/**
 * The generation loop (GptOssGpu.run) over a simulated GPU queue: a step starts when the GPU is free or when it was
 * submitted, whichever is later; the host keeps `depth` steps submitted ahead of the one it reads.
 */
function simulate(o: Sim) {
  let t = 0;
  const pacer = new ReadbackPacer(0.3, () => t);
  const gpu = typeof o.gpuMs === 'number' ? () => o.gpuMs as number : o.gpuMs;
  const done: number[] = [];
  const read: number[] = [];
  const slept: number[] = [];
  let gpuFree = 0;
  let submitted = 0;
  let polled = 0;
  let idle = 0;
  for (let i = 0; i < o.steps; i++) {
    while (submitted < o.steps && submitted < i + o.depth) {
      t += o.recordMs;
      pacer.submitted();
      const start = Math.max(gpuFree, t);
      if (submitted > 0) idle += start - gpuFree;
      gpuFree = start + gpu(submitted);
      done.push(gpuFree);
      submitted++;
    }
    const d = pacer.delayMs();
    slept.push(d);
    if (d > 0) t += d + (o.timerLateMs ?? 0);
    pacer.mapping(d);
    if (done[i] > t) {
      polled += done[i] - t;
      t = done[i];
    }
    t += o.tickMs ?? 0.01; // the resolving tick
    pacer.resolved();
    read.push(t);
    t += o.hostMs;
    if (o.pause && i === o.pause.at) t += o.pause.ms;
  }
  /** Mean time per token between tokens a and b. */
  const pace = (a: number, b: number) => (read[b] - read[a]) / (b - a);
  return { pacer, slept, polled, idle, pace, done };
}

describe('ReadbackPacer', () => {
  test('maps at once until it has seen the GPU finish two steps', () => {
    const p = new ReadbackPacer(0.3, () => 0);
    expect(p.delayMs()).toBe(0);
    expect(Number.isNaN(p.stepMs)).toBe(true);
  });

  test('learns the GPU step and sleeps through most of it, keeping pace with the GPU', () => {
    const { pacer, slept, polled, pace } = simulate({ gpuMs: 2.5, recordMs: 0.8, hostMs: 0.05, depth: 3, steps: 200 });
    expect(pacer.stepMs).toBeGreaterThan(2.45);
    expect(pacer.stepMs).toBeLessThan(2.6);
    expect(slept.slice(20).every((d) => d >= 1)).toBe(true);
    // A map is pending well under half of each step (unpaced: nearly all of it), and the loop keeps the GPU's pace.
    expect(polled / 200).toBeLessThan(1);
    expect(pace(20, 199)).toBeLessThan(2.52);
  });

  test('a slow GPU is slept through almost entirely', () => {
    const { slept, polled, pace } = simulate({ gpuMs: 40, recordMs: 1, hostMs: 0.1, depth: 3, steps: 50 });
    expect(slept.slice(5).every((d) => d >= 37)).toBe(true);
    expect(polled / 50).toBeLessThan(2.5);
    expect(pace(5, 49)).toBeLessThan(40.1);
  });

  test('keeps pace with the event polling adding up to 0.15 ms to a map', () => {
    for (const tickMs of [0.05, 0.09, 0.15]) {
      const { pacer, pace } = simulate({ gpuMs: 2.45, recordMs: 0.9, hostMs: 0.05, depth: 3, steps: 200, timerLateMs: 0.3, tickMs });
      expect(pacer.stepMs).toBeLessThan(2.45 + tickMs + 0.1);
      expect(pace(20, 199)).toBeLessThan(2.5);
    }
  });

  test('timers that fire late do not push its estimates later (no drift)', () => {
    const { pacer, pace } = simulate({ gpuMs: 5, recordMs: 0.5, hostMs: 0.05, depth: 3, steps: 300, timerLateMs: 2 });
    expect(pacer.stepMs).toBeGreaterThan(4.9);
    expect(pacer.stepMs).toBeLessThan(5.2);
    expect(pace(20, 299)).toBeLessThan(5.05);
  });

  test('recovers the GPU pace after a host pause drains the queue', () => {
    // A 40 ms collection at token 50: the queue of 3 or 6 steps runs dry. Completion intervals right after are set
    // by the host's submissions; the pacer must not take them for the GPU's pace.
    for (const depth of [3, 6]) {
      const { pacer, pace, slept } = simulate({
        gpuMs: 2.45,
        recordMs: 0.9,
        hostMs: 0.05,
        depth,
        steps: 300,
        timerLateMs: 0.4,
        pause: { at: 50, ms: 40 },
      });
      expect(pacer.stepMs).toBeLessThan(2.6);
      expect(pace(80, 299)).toBeLessThan(2.5);
      expect(slept.slice(80).every((d) => d <= 2)).toBe(true);
    }
  });

  test('slow first steps (plan capture, first use of pipelines) do not set the pace', () => {
    const { pacer, pace } = simulate({ gpuMs: (s) => (s < 3 ? 30 : 2.45), recordMs: 0.9, hostMs: 0.05, depth: 3, steps: 100, timerLateMs: 0.3 });
    expect(pacer.stepMs).toBeLessThan(2.6);
    expect(pace(10, 99)).toBeLessThan(2.5);
    // Slow steps in the middle of a run (the GPU shared for a while) are followed down again.
    const mid = simulate({ gpuMs: (s) => (s >= 50 && s < 60 ? 20 : 2.45), recordMs: 0.9, hostMs: 0.05, depth: 3, steps: 200, timerLateMs: 0.3 });
    expect(mid.pace(120, 199)).toBeLessThan(2.5);
  });

  test('a host late to see maps resolve now and then (collections) does not slow the loop', () => {
    const { pace } = simulate({ gpuMs: 2.45, recordMs: 0.9, hostMs: 0.05, depth: 3, steps: 300, pause: { at: 40, ms: 12 } });
    expect(pace(60, 299)).toBeLessThan(2.5);
  });

  test('follows a GPU that slows down (longer contexts) and speeds up again', () => {
    const { pacer, pace } = simulate({
      gpuMs: (s) => (s < 100 ? 2.5 : s < 200 ? 4 : 2.5),
      recordMs: 0.8,
      hostMs: 0.05,
      depth: 3,
      steps: 300,
    });
    expect(pace(120, 199)).toBeLessThan(4.03);
    expect(pace(220, 299)).toBeLessThan(2.53);
    expect(pacer.stepMs).toBeLessThan(2.6);
  });

  test('never sleeps when the host is the bottleneck (maps always resolve at once)', () => {
    const { slept, pacer } = simulate({ gpuMs: 1, recordMs: 3, hostMs: 0.5, depth: 3, steps: 100 });
    expect(slept.every((d) => d === 0)).toBe(true);
    expect(Number.isNaN(pacer.stepMs)).toBe(true);
  });
});
