import { describe, expect, test } from 'vitest';
import { rng } from '../test/helpers.js';
import {
  deinterleaveRowPairs,
  fromSplitHalvesNibbles,
  interleaveRowPairs,
  packNibbles,
  tileRows,
  toSplitHalvesNibbles,
  unpackNibbles,
  untileRows,
} from './layout.js';

const r = rng(5);
const randomBytes = (n: number): Uint8Array => new Uint8Array(n).map(() => Math.floor(r() * 256));

describe('nibble orders', () => {
  test('split halves: byte j holds elements j and j+16', () => {
    const blocks = randomBytes(16 * 7);
    const codes = unpackNibbles(blocks);
    const split = toSplitHalvesNibbles(blocks);
    for (let b = 0; b < 7; b++) {
      for (let j = 0; j < 16; j++) {
        expect(split[b * 16 + j] & 15).toBe(codes[b * 32 + j]);
        expect(split[b * 16 + j] >> 4).toBe(codes[b * 32 + j + 16]);
      }
    }
    expect([...fromSplitHalvesNibbles(split)]).toEqual([...blocks]);
    expect(() => toSplitHalvesNibbles(new Uint8Array(15))).toThrow(/multiple of 16/);
    expect(() => toSplitHalvesNibbles(blocks, blocks)).toThrow(/overlap/);
  });

  test('unpack/pack round trip; bad codes rejected', () => {
    const blocks = randomBytes(64);
    const codes = unpackNibbles(blocks);
    expect(codes[0]).toBe(blocks[0] & 15);
    expect(codes[1]).toBe(blocks[0] >> 4);
    expect([...packNibbles(codes)]).toEqual([...blocks]);
    expect(() => packNibbles(new Uint8Array([1, 16]))).toThrow(/code 16/);
    expect(() => packNibbles(new Uint8Array(3))).toThrow(/odd/);
  });
});

describe('row tiling', () => {
  test.each([
    [5, 3, 2],
    [8, 2, 4],
    [7, 1, 7],
    [3, 4, 8],
  ])('rows=%i groups=%i tile=%i: element mapping and round trip', (rows, groups, T) => {
    const blocks = randomBytes(rows * groups * 16);
    const scales = randomBytes(rows * groups);
    const t = tileRows(blocks, scales, { rows, groups, rowTile: T });
    expect(t.paddedRows).toBe(Math.ceil(rows / T) * T);
    for (let row = 0; row < t.paddedRows; row++) {
      for (let g = 0; g < groups; g++) {
        const idx = (Math.floor(row / T) * groups + g) * T + (row % T);
        expect(t.scales[idx]).toBe(row < rows ? scales[row * groups + g] : 0);
        expect([...t.blocks.subarray(idx * 16, idx * 16 + 16)]).toEqual(
          row < rows ? [...blocks.subarray((row * groups + g) * 16, (row * groups + g + 1) * 16)] : new Array(16).fill(0),
        );
      }
    }
    const back = untileRows(t.blocks, t.scales, { rows, groups, rowTile: T });
    expect([...back.blocks]).toEqual([...blocks]);
    expect([...back.scales]).toEqual([...scales]);
  });

  test('size mismatch is an error', () => {
    expect(() => tileRows(new Uint8Array(16), new Uint8Array(2), { rows: 1, groups: 1, rowTile: 1 })).toThrow(/expected blocks/);
    expect(() => tileRows(new Uint8Array(16), new Uint8Array(1), { rows: 1, groups: 1, rowTile: 0 })).toThrow(/rowTile/);
  });
});

describe('gate/up row pairs', () => {
  test('de-interleave per matrix, then interleave back', () => {
    // 2 matrices × 4 rows × 3 elements; value = matrix*100 + row*10 + col
    const src = new Uint16Array(24).map((_, i) => Math.floor(i / 12) * 100 + (Math.floor(i / 3) % 4) * 10 + (i % 3));
    const d = deinterleaveRowPairs(src, 3, 4);
    expect([...d.subarray(0, 12)]).toEqual([0, 1, 2, 20, 21, 22, 10, 11, 12, 30, 31, 32]);
    expect(d).toBeInstanceOf(Uint16Array);
    expect([...interleaveRowPairs(d, 3, 4)]).toEqual([...src]);
    expect(() => deinterleaveRowPairs(src, 3, 3)).toThrow(/even/);
    expect(() => deinterleaveRowPairs(src, 5, 4)).toThrow(/whole number/);
  });
});
