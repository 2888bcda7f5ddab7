import { expect, test } from 'vitest';
import { presetConfig } from '../config.js';
import { applyRope, ropeAngles, ropeTables } from './rope.js';

test('YaRN schedule matches SPEC §1.5.2 for the real config', () => {
  const c = presetConfig('gpt-oss-20b');
  const t = ropeTables(c);
  expect(t.concentration).toBeCloseTo(1.3465735902799727, 14);
  const f = (i: number) => 1 / Math.pow(150000, (2 * i) / 64);
  // i ≤ 8: unchanged; i ≥ 18: divided by 32; in between blended with ramp (i − low)/(high − low).
  for (const i of [0, 3, 8]) expect(t.invFreq[i]).toBeCloseTo(f(i), 6);
  for (const i of [18, 25, 31]) expect(t.invFreq[i] / (f(i) / 32)).toBeCloseTo(1, 5);
  const low = 8.092779115512402;
  const high = 17.39802450158856;
  const i = 12;
  const ramp = (i - low) / (high - low);
  expect(t.invFreq[i] / (f(i) / 32 * ramp + f(i) * (1 - ramp))).toBeCloseTo(1, 5);
});

test('rotation pairs the two halves and position 0 only scales by the concentration', () => {
  const c = presetConfig('tiny');
  const t = ropeTables(c);
  const cos = new Float32Array(32);
  const sin = new Float32Array(32);
  ropeAngles(t, 0, cos, sin);
  const x = Float32Array.from({ length: 64 }, (_, k) => k + 1);
  const y = x.slice();
  applyRope(y, 0, 1, cos, sin);
  for (let k = 0; k < 64; k++) expect(y[k]).toBeCloseTo(x[k] * t.concentration, 4);
  ropeAngles(t, 5, cos, sin);
  const z = x.slice();
  applyRope(z, 0, 1, cos, sin);
  expect(z[0]).toBeCloseTo(x[0] * cos[0] - x[32] * sin[0], 4);
  expect(z[32]).toBeCloseTo(x[32] * cos[0] + x[0] * sin[0], 4);
});
