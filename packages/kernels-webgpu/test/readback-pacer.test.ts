import { describe, expect, test } from 'vitest';
import { ReadbackPacer } from '../src/model/readback-pacer.js';

/** A host loop over a simulated GPU that finishes a step every `gpuMs`, with `hostMs` of work per token. */
function simulate(gpuMs: number, hostMs: number, steps: number, timerLateMs = 0) {
  let t = 0;
  const pacer = new ReadbackPacer(0.3, () => t);
  const slept: number[] = [];
  const polls: number[] = [];
  let polled = 0;
  for (let i = 0; i < steps; i++) {
    t += hostMs; // yield the previous token, record and submit the next step
    const d = pacer.delayMs();
    slept.push(d);
    if (d > 0) t += d + timerLateMs;
    pacer.mapping();
    const done = (i + 1) * gpuMs; // the GPU never starves in this model
    polls.push(Math.max(0, done - t));
    if (done > t) {
      polled += done - t;
      t = done;
    }
    t += 0.01; // the resolving tick
    pacer.resolved();
  }
  return { pacer, slept, polls, polled, end: t };
}

describe('ReadbackPacer', () => {
  test('maps at once until it has seen the GPU finish two steps', () => {
    const p = new ReadbackPacer(0.3, () => 0);
    expect(p.delayMs()).toBe(0);
    expect(Number.isNaN(p.stepMs)).toBe(true);
  });

  test('learns the GPU step and sleeps through most of it, keeping pace with the GPU', () => {
    const { pacer, slept, polled, end } = simulate(2.5, 0.8, 200);
    expect(pacer.stepMs).toBeGreaterThan(2.4);
    expect(pacer.stepMs).toBeLessThan(2.6);
    // After warm-up each token sleeps 1 ms of the 1.7 ms left after the host's work.
    expect(slept.slice(10).every((d) => d === 1)).toBe(true);
    // Polling (a map pending) drops from 1.7 ms to ~0.7 ms per token, and the loop keeps the GPU's pace.
    expect(polled / 200).toBeLessThan(0.8);
    expect(end / 200).toBeLessThan(2.52);
  });

  test('a slow GPU is slept through almost entirely', () => {
    const { slept, polls } = simulate(40, 1, 50);
    expect(slept.slice(5).every((d) => d === 38)).toBe(true);
    // Pending for under a millisecond of each 40 ms step (whole-millisecond timers), against 39 ms unpaced.
    expect(Math.max(...polls.slice(5))).toBeLessThan(1);
  });

  test('timers that fire late do not push its estimates later (no drift)', () => {
    const { pacer, end } = simulate(5, 0.5, 300, 2);
    expect(pacer.stepMs).toBeGreaterThan(4.9);
    expect(pacer.stepMs).toBeLessThan(5.1);
    // Late wake-ups only delay reads; the estimate stays on the GPU's timeline (no compounding).
    expect(end / 300).toBeLessThan(5.1);
  });

  test('never sleeps when the host is the bottleneck (maps always resolve at once)', () => {
    const { slept, pacer } = simulate(1, 3, 100);
    expect(slept.every((d) => d === 0)).toBe(true);
    expect(Number.isNaN(pacer.stepMs)).toBe(true);
  });
});
